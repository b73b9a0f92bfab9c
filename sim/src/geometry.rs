//! Plane geometry for the simulator: points, wall segments, rays and the
//! distance queries that collision, range sensing, line of sight and the
//! camera's ray caster are built from.
//!
//! Everything is plain `f64` arithmetic with no allocation, because the
//! physics step calls these functions for every wall on every step.

/// A point or vector in the world frame, metres.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vec2 {
    pub x: f64,
    pub y: f64,
}

impl Vec2 {
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    /// Unit vector at `angle` radians, counter-clockwise from +x.
    pub fn from_angle(angle: f64) -> Self {
        Self::new(angle.cos(), angle.sin())
    }

    pub fn plus(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x + o.x, self.y + o.y)
    }

    pub fn minus(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x - o.x, self.y - o.y)
    }

    pub fn scale(self, k: f64) -> Vec2 {
        Vec2::new(self.x * k, self.y * k)
    }

    pub fn dot(self, o: Vec2) -> f64 {
        self.x * o.x + self.y * o.y
    }

    /// z component of the 3-D cross product.
    pub fn cross(self, o: Vec2) -> f64 {
        self.x * o.y - self.y * o.x
    }

    pub fn length(self) -> f64 {
        self.x.hypot(self.y)
    }

    pub fn distance(self, o: Vec2) -> f64 {
        self.minus(o).length()
    }
}

/// A straight wall between two points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub a: Vec2,
    pub b: Vec2,
}

impl Segment {
    pub const fn new(ax: f64, ay: f64, bx: f64, by: f64) -> Self {
        Self { a: Vec2::new(ax, ay), b: Vec2::new(bx, by) }
    }

    /// Shortest distance from `p` to any point of the segment.
    pub fn distance_to(&self, p: Vec2) -> f64 {
        let ab = self.b.minus(self.a);
        let len2 = ab.dot(ab);
        let t = if len2 > 0.0 { (p.minus(self.a).dot(ab) / len2).clamp(0.0, 1.0) } else { 0.0 };
        p.distance(self.a.plus(ab.scale(t)))
    }

    /// Distance along the ray `origin + t * dir` (with `dir` a unit vector)
    /// at which it crosses the segment, if it does for `t >= 0`.
    pub fn ray_hit(&self, origin: Vec2, dir: Vec2) -> Option<f64> {
        let e = self.b.minus(self.a);
        let denom = dir.cross(e);
        if denom.abs() < 1e-12 {
            // Parallel rays never "hit" a wall edge-on; the adjoining walls
            // catch such rays instead.
            return None;
        }
        let w = self.a.minus(origin);
        let t = w.cross(e) / denom;
        let u = w.cross(dir) / denom;
        (t >= 0.0 && (-1e-9..=1.0 + 1e-9).contains(&u)).then_some(t)
    }

    /// Whether the segment from `p` to `q` crosses this one.
    pub fn crosses(&self, p: Vec2, q: Vec2) -> bool {
        let d = q.minus(p);
        let len = d.length();
        if len <= 0.0 {
            return false;
        }
        matches!(self.ray_hit(p, d.scale(1.0 / len)), Some(t) if t <= len)
    }
}

/// Distance along the ray `origin + t * dir` (unit `dir`) to the first point
/// of a circle, if the ray meets it ahead of the origin.
pub fn ray_circle(origin: Vec2, dir: Vec2, centre: Vec2, radius: f64) -> Option<f64> {
    let oc = origin.minus(centre);
    let b = oc.dot(dir);
    let c = oc.dot(oc) - radius * radius;
    if c <= 0.0 {
        // Inside the circle: it is touching the sensor.
        return Some(0.0);
    }
    let disc = b * b - c;
    if disc < 0.0 {
        return None;
    }
    let t = -b - disc.sqrt();
    (t >= 0.0).then_some(t)
}

/// Wrap an angle in radians into (-pi, pi].
pub fn wrap_rad(a: f64) -> f64 {
    let tau = std::f64::consts::TAU;
    let mut r = a % tau;
    if r > std::f64::consts::PI {
        r -= tau;
    } else if r <= -std::f64::consts::PI {
        r += tau;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_distance_clamps_to_ends() {
        let s = Segment::new(0.0, 0.0, 1.0, 0.0);
        assert!((s.distance_to(Vec2::new(0.5, 2.0)) - 2.0).abs() < 1e-12);
        assert!((s.distance_to(Vec2::new(4.0, 4.0)) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn ray_hits_wall_ahead_only() {
        let s = Segment::new(2.0, -1.0, 2.0, 1.0);
        assert_eq!(s.ray_hit(Vec2::default(), Vec2::new(1.0, 0.0)), Some(2.0));
        assert_eq!(s.ray_hit(Vec2::default(), Vec2::new(-1.0, 0.0)), None);
        assert!(s.crosses(Vec2::default(), Vec2::new(3.0, 0.0)));
        assert!(!s.crosses(Vec2::default(), Vec2::new(1.5, 0.0)));
    }

    #[test]
    fn ray_meets_circle_front() {
        let t = ray_circle(Vec2::default(), Vec2::new(1.0, 0.0), Vec2::new(3.0, 0.0), 0.5);
        assert!((t.unwrap_or(f64::NAN) - 2.5).abs() < 1e-12);
        assert_eq!(ray_circle(Vec2::default(), Vec2::new(0.0, 1.0), Vec2::new(3.0, 0.0), 0.5), None);
    }
}
