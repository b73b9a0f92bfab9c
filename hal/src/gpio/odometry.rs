//! Differential-drive dead reckoning from wheel-encoder counts: pure
//! arithmetic, no I/O, shared by both GPIO backends.
//!
//! The backends count encoder edges ([`super::encoder`]) on their own
//! threads; [`PoseIntegrator::update`] is given the two running counts
//! whenever the executor asks for the pose (every control period while a
//! skill moves the robot) and folds the wheel travel since the previous
//! call into the pose with the midpoint rule. When the board has an IMU its
//! absolute heading replaces the heading the wheels imply, because wheel
//! slip corrupts heading much faster than distance.

use std::f64::consts::PI;

use crate::{wrap_deg, Pose};

/// Counts per wheel revolution for an encoder with `pulses_per_rev` pulses
/// on channel A per wheel revolution (after any gearbox): both edges of A
/// are counted, and with ×4 quadrature decoding both edges of B as well
/// (see [`super::encoder`] for which backend decodes how).
pub fn counts_per_rev(pulses_per_rev: f64, x4: bool) -> f64 {
    pulses_per_rev * if x4 { 4.0 } else { 2.0 }
}

/// What turns counts into metres and radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WheelGeometry {
    /// Counts per wheel revolution, see [`counts_per_rev`].
    pub counts_per_rev: f64,
    pub wheel_diameter_m: f64,
    /// Distance between the wheel contact points.
    pub track_width_m: f64,
}

impl WheelGeometry {
    /// Distance a wheel rolls per count.
    pub fn metres_per_count(&self) -> f64 {
        PI * self.wheel_diameter_m / self.counts_per_rev
    }

    /// Counts one wheel makes rolling `metres`.
    pub fn counts_for(&self, metres: f64) -> f64 {
        metres / self.metres_per_count()
    }

    /// Whether every figure is a positive finite number (the board checker
    /// refuses anything else, so this guards hand-built geometries).
    pub fn is_valid(&self) -> bool {
        [self.counts_per_rev, self.wheel_diameter_m, self.track_width_m].iter().all(|v| v.is_finite() && *v > 0.0)
    }
}

/// The pose estimate, advanced from running encoder counts.
#[derive(Debug, Clone)]
pub struct PoseIntegrator {
    geometry: WheelGeometry,
    pose: Pose,
    /// Heading in radians, unwrapped, so small steps never jump at ±180°.
    theta: f64,
    last_counts: Option<[i64; 2]>,
    /// Absolute sensor heading that corresponds to odometry heading 0.
    heading_zero: Option<f64>,
}

impl PoseIntegrator {
    /// Starts at the origin of the odometry frame (the dock), heading 0.
    pub fn new(geometry: WheelGeometry) -> Self {
        Self { geometry, pose: Pose::default(), theta: 0.0, last_counts: None, heading_zero: None }
    }

    pub fn geometry(&self) -> WheelGeometry {
        self.geometry
    }

    pub fn pose(&self) -> Pose {
        self.pose
    }

    /// Fold in the running `[left, right]` counts (forward positive). The
    /// first call only sets the reference. `sensor_heading_deg` is an
    /// absolute heading (counter-clockwise positive, any zero) from an IMU;
    /// its first value becomes odometry heading 0.
    pub fn update(&mut self, counts: [i64; 2], sensor_heading_deg: Option<f64>) -> Pose {
        let sensor_heading = sensor_heading_deg.filter(|h| h.is_finite()).map(|h| {
            let zero = *self.heading_zero.get_or_insert(h);
            wrap_deg(h - zero).to_radians()
        });
        let Some(last) = self.last_counts.replace(counts) else {
            if let Some(h) = sensor_heading {
                self.theta = h;
            }
            return self.finish();
        };
        let m = self.geometry.metres_per_count();
        // i64 differences of counts that started at zero cannot overflow in practice;
        // saturate so a corrupt count cannot panic.
        let dl = counts[0].saturating_sub(last[0]) as f64 * m;
        let dr = counts[1].saturating_sub(last[1]) as f64 * m;
        let ds = (dl + dr) / 2.0;
        let dtheta = match sensor_heading {
            // The sensor's change, taken the short way round.
            Some(h) => wrap_deg((h - self.theta).to_degrees()).to_radians(),
            None => (dr - dl) / self.geometry.track_width_m,
        };
        let mid = self.theta + dtheta / 2.0;
        self.pose.x += ds * mid.cos();
        self.pose.y += ds * mid.sin();
        self.theta += dtheta;
        self.finish()
    }

    fn finish(&mut self) -> Pose {
        self.pose.heading_deg = wrap_deg(self.theta.to_degrees());
        self.pose
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEOM: WheelGeometry = WheelGeometry { counts_per_rev: 1200.0, wheel_diameter_m: 0.065, track_width_m: 0.16 };

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn counts_per_rev_follow_the_channels() {
        assert_eq!(counts_per_rev(300.0, true), 1200.0);
        assert_eq!(counts_per_rev(300.0, false), 600.0);
    }

    #[test]
    fn one_metre_straight() {
        let mut o = PoseIntegrator::new(GEOM);
        let n = GEOM.counts_for(1.0).round() as i64;
        assert_eq!(n, 5876); // 1200 / (pi * 0.065)
        o.update([0, 0], None);
        // In 100 small steps, as the control loop would see it.
        for i in 1..=100 {
            o.update([n * i / 100, n * i / 100], None);
        }
        let p = o.pose();
        assert!(close(p.x, 1.0, 1e-3) && close(p.y, 0.0, 1e-9) && close(p.heading_deg, 0.0, 1e-9), "{p:?}");
    }

    #[test]
    fn turn_in_place_by_wheel_difference() {
        let mut o = PoseIntegrator::new(GEOM);
        o.update([0, 0], None);
        // A quarter turn left: each wheel rolls track * pi / 4 in opposite directions.
        let n = GEOM.counts_for(0.16 * PI / 4.0).round() as i64;
        o.update([-n, n], None);
        let p = o.pose();
        assert!(close(p.heading_deg, 90.0, 0.1) && close(p.x, 0.0, 1e-9) && close(p.y, 0.0, 1e-9), "{p:?}");
        // Then 1 m forward goes along +y.
        let m = GEOM.counts_for(1.0).round() as i64;
        o.update([m - n, m + n], None);
        let p = o.pose();
        assert!(close(p.x, 0.0, 2e-3) && close(p.y, 1.0, 1e-3), "{p:?}");
    }

    #[test]
    fn an_arc_ends_on_the_circle() {
        // Left wheel on radius 0.42 m, right on 0.58 m: centre radius 0.5 m, a half circle.
        let mut o = PoseIntegrator::new(GEOM);
        o.update([0, 0], None);
        let steps = 400;
        let (l, r) = (GEOM.counts_for(PI * 0.42), GEOM.counts_for(PI * 0.58));
        for i in 1..=steps {
            let f = f64::from(i) / f64::from(steps);
            o.update([(l * f).round() as i64, (r * f).round() as i64], None);
        }
        let p = o.pose();
        assert!(close(p.x, 0.0, 0.01) && close(p.y, 1.0, 0.01) && close(p.heading_deg.abs(), 180.0, 0.5), "{p:?}");
    }

    #[test]
    fn sensor_heading_overrides_wheels_and_is_zeroed_at_start() {
        let mut o = PoseIntegrator::new(GEOM);
        // The IMU reads 250 degrees at the dock: that is odometry heading 0.
        o.update([0, 0], Some(250.0));
        assert_eq!(o.pose().heading_deg, 0.0);
        // The wheels say straight, the IMU says the robot slipped to +90.
        let m = GEOM.counts_for(1.0).round() as i64;
        let p = o.update([m, m], Some(340.0));
        assert!(close(p.heading_deg, 90.0, 1e-9), "{p:?}");
        // Midpoint rule: the metre was driven at 45 degrees on average.
        assert!(
            close(p.x, std::f64::consts::FRAC_1_SQRT_2, 1e-3) && close(p.y, std::f64::consts::FRAC_1_SQRT_2, 1e-3),
            "{p:?}"
        );
        // Crossing 360 -> 0 in the sensor is a small step, not a full turn.
        let p = o.update([m, m], Some(350.0 + 20.0));
        assert!(close(p.heading_deg, 120.0, 1e-9), "{p:?}");
    }

    #[test]
    fn backwards_is_negative_and_garbage_heading_is_ignored() {
        let mut o = PoseIntegrator::new(GEOM);
        o.update([0, 0], None);
        let m = GEOM.counts_for(0.3).round() as i64;
        let p = o.update([-m, -m], Some(f64::NAN));
        assert!(close(p.x, -0.3, 1e-3), "{p:?}");
        assert!(o.geometry().is_valid());
        assert!(!WheelGeometry { wheel_diameter_m: 0.0, ..GEOM }.is_valid());
    }
}
