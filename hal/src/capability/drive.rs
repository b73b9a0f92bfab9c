//! Differential drive: two wheel speeds.

use crate::ErrorType;

/// A two-wheeled (or skid-steer) base commanded by wheel surface speeds.
///
/// Positive speeds drive forward. A backend rejects speeds above its limit
/// with [`crate::ErrorKind::OutOfRange`] rather than clamping silently, so
/// the caller learns its command was not what happened.
pub trait DifferentialDrive: ErrorType {
    /// Command wheel surface speeds in metres per second.
    fn set_wheel_speeds(&mut self, left_mps: f64, right_mps: f64) -> Result<(), Self::Error>;

    /// Stop both wheels (active braking where the hardware has it).
    fn stop(&mut self) -> Result<(), Self::Error> {
        self.set_wheel_speeds(0.0, 0.0)
    }

    /// Distance between the wheel contact points, metres (for turning).
    fn track_width_m(&self) -> f64;

    /// Largest wheel speed the backend accepts, metres per second.
    fn max_wheel_speed_mps(&self) -> f64;
}

impl<T: DifferentialDrive + ?Sized> DifferentialDrive for &mut T {
    fn set_wheel_speeds(&mut self, l: f64, r: f64) -> Result<(), Self::Error> {
        (**self).set_wheel_speeds(l, r)
    }
    fn stop(&mut self) -> Result<(), Self::Error> {
        (**self).stop()
    }
    fn track_width_m(&self) -> f64 {
        (**self).track_width_m()
    }
    fn max_wheel_speed_mps(&self) -> f64 {
        (**self).max_wheel_speed_mps()
    }
}
