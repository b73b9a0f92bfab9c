//! Planar geometry for the board's geofence: whether a point is inside the
//! polygon, and how far outside it is.
//!
//! The preflight uses [`Geofence::contains`] on every predicted point of a
//! plan; the running monitor uses [`Geofence::distance_outside`] so that
//! odometry noise at a wall does not stop a robot whose plan was checked.

/// The polygon a robot must stay inside (odometry frame, metres).
#[derive(Debug, Clone, PartialEq)]
pub struct Geofence {
    corners: Vec<[f64; 2]>,
}

impl Geofence {
    /// A geofence from the board's corners, or `None` when the board
    /// declares none (fewer than three corners cannot enclose anything, and
    /// the board loader refuses them).
    pub fn new(corners: &[[f64; 2]]) -> Option<Geofence> {
        (corners.len() >= 3).then(|| Geofence { corners: corners.to_vec() })
    }

    pub fn corners(&self) -> &[[f64; 2]] {
        &self.corners
    }

    fn edges(&self) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
        let n = self.corners.len();
        (0..n).map(move |i| (self.corners[i], self.corners[(i + 1) % n]))
    }

    /// Whether `(x, y)` is inside the polygon; points on an edge count as
    /// inside, non-finite points as outside.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        if !(x.is_finite() && y.is_finite()) {
            return false;
        }
        if self.edges().any(|(a, b)| segment_distance([x, y], a, b) < 1e-9) {
            return true;
        }
        // Ray casting: an odd number of edge crossings to the right means inside.
        let mut inside = false;
        for ([xi, yi], [xj, yj]) in self.edges() {
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
        inside
    }

    /// Distance from `(x, y)` to the polygon when outside it, 0 inside,
    /// infinity for a non-finite point.
    pub fn distance_outside(&self, x: f64, y: f64) -> f64 {
        if !(x.is_finite() && y.is_finite()) {
            return f64::INFINITY;
        }
        if self.contains(x, y) {
            return 0.0;
        }
        self.edges().map(|(a, b)| segment_distance([x, y], a, b)).fold(f64::INFINITY, f64::min)
    }
}

/// Distance from point `p` to the segment `a`-`b`.
fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    (p[0] - (a[0] + t * dx)).hypot(p[1] - (a[1] + t * dy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l_shape() -> Geofence {
        // An L: the square (1,1)-(2,2) is cut out of (0,0)-(2,2).
        Geofence::new(&[[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 2.0], [0.0, 2.0]]).unwrap()
    }

    #[test]
    fn inside_outside_and_edges() {
        let g = l_shape();
        assert!(g.contains(0.5, 0.5));
        assert!(g.contains(1.5, 0.5));
        assert!(g.contains(0.5, 1.5));
        assert!(!g.contains(1.5, 1.5), "the notch is outside");
        assert!(!g.contains(-0.1, 0.5));
        assert!(g.contains(2.0, 0.5), "an edge counts as inside");
        assert!(g.contains(0.0, 0.0), "a corner counts as inside");
        assert!(!g.contains(f64::NAN, 0.5));
    }

    #[test]
    fn distance_outside_is_to_the_nearest_edge() {
        let g = l_shape();
        assert_eq!(g.distance_outside(0.5, 0.5), 0.0);
        assert!((g.distance_outside(2.3, 0.5) - 0.3).abs() < 1e-12);
        assert!((g.distance_outside(1.5, 1.2) - 0.2).abs() < 1e-12);
        assert_eq!(g.distance_outside(f64::INFINITY, 0.0), f64::INFINITY);
    }

    #[test]
    fn fewer_than_three_corners_is_no_geofence() {
        assert!(Geofence::new(&[]).is_none());
        assert!(Geofence::new(&[[0.0, 0.0], [1.0, 1.0]]).is_none());
    }
}
