//! Pose estimate from wheel odometry (or any localisation source).

use crate::{ErrorType, Pose};

/// The robot's own estimate of where it is, in the odometry frame (which
/// starts at the dock: x = 0, y = 0, heading 0). Estimates drift; the
/// executor verifies steps against this, never against simulator truth.
pub trait Odometry: ErrorType {
    fn pose(&mut self) -> Result<Pose, Self::Error>;
}

impl<T: Odometry + ?Sized> Odometry for &mut T {
    fn pose(&mut self) -> Result<Pose, Self::Error> {
        (**self).pose()
    }
}
