//! What the rover's sensors report, computed from the world model.
//!
//! The range sensor is a single forward beam from the front of the rover;
//! the object detector stands in for a vision model on the camera and sees
//! every object inside the camera's field of view, in range, and not behind
//! a wall. Objects in the gripper are not reported: they are part of the
//! rover now.

use robot_hal::Detection;

use crate::geometry::{ray_circle, wrap_rad, Vec2};
use crate::world::{World, ROVER_RADIUS_M};

/// Longest distance the range sensor reports, metres.
pub const RANGE_MAX_M: f64 = 4.0;
/// Half the camera's (and detector's) horizontal field of view.
pub const HALF_FOV_DEG: f64 = 30.0;
/// Farthest an object can be and still be recognised, metres.
pub const DETECT_MAX_M: f64 = 4.0;

impl World {
    /// Distance along a ray from `origin` to the first wall or free object.
    pub(crate) fn ray_distance(&self, origin: Vec2, dir: Vec2) -> f64 {
        let wall = self.map.cast(origin, dir).map_or(f64::INFINITY, |(t, _)| t);
        self.objects
            .iter()
            .filter(|o| !o.held)
            .filter_map(|o| ray_circle(origin, dir, o.position(), o.radius))
            .fold(wall, f64::min)
    }

    /// The range sensor: measured from the front edge, where it is mounted.
    pub fn range_m(&self) -> f64 {
        let dir = Vec2::from_angle(self.truth.theta);
        (self.ray_distance(self.truth.pos, dir) - ROVER_RADIUS_M).clamp(0.0, RANGE_MAX_M)
    }

    /// Objects in view, nearest first.
    pub fn detect(&self) -> Vec<Detection> {
        let pos = self.truth.pos;
        let mut seen: Vec<Detection> = self
            .objects
            .iter()
            .filter(|o| !o.held)
            .filter_map(|o| {
                let to = o.position().minus(pos);
                let distance_m = to.length();
                let bearing_deg = wrap_rad(to.y.atan2(to.x) - self.truth.theta).to_degrees();
                let visible = distance_m <= DETECT_MAX_M
                    && bearing_deg.abs() <= HALF_FOV_DEG
                    && self.map.line_of_sight(pos, o.position());
                visible.then(|| Detection { label: o.label.clone(), bearing_deg, distance_m })
            })
            .collect();
        seen.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        seen
    }
}
