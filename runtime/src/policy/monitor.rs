//! The running check: called by the skills on every control tick while a
//! program runs, so the robot stops when odometry leaves the geofence or
//! the battery falls below the motion minimum, whatever the plan said.

use robot_hal::Pose;

use super::level::Policy;

/// A board rule broken while running.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleViolation {
    #[error("outside the geofence at ({x:.2}, {y:.2}), {outside_m:.2} m beyond it (margin {margin_m:.2} m)")]
    OutsideGeofence { x: f64, y: f64, outside_m: f64, margin_m: f64 },
    #[error("battery at {:.0}% is below the {:.0}% needed for motion", battery * 100.0, min * 100.0)]
    BatteryLow { battery: f64, min: f64 },
    #[error("the pose reading is not a finite number")]
    InvalidPose,
}

impl Policy {
    /// Check the robot's state while running. The geofence applies with
    /// the policy's margin (odometry noise near a wall is not a
    /// violation); the battery minimum applies while `moving`.
    pub fn monitor(&self, pose: Pose, battery: f64, moving: bool) -> Result<(), RuleViolation> {
        if !(pose.x.is_finite() && pose.y.is_finite() && pose.heading_deg.is_finite()) {
            return Err(RuleViolation::InvalidPose);
        }
        if let Some(fence) = &self.geofence {
            let outside_m = fence.distance_outside(pose.x, pose.y);
            if outside_m > self.geofence_margin_m {
                return Err(RuleViolation::OutsideGeofence {
                    x: pose.x,
                    y: pose.y,
                    outside_m,
                    margin_m: self.geofence_margin_m,
                });
            }
        }
        let min = self.rules.min_battery_for_motion;
        if moving && (battery.is_nan() || battery < min) {
            return Err(RuleViolation::BatteryLow { battery, min });
        }
        Ok(())
    }
}
