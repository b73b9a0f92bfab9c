//! The simulator's error type, shared by every simulated device.
//!
//! Each variant maps onto a [`robot_hal::ErrorKind`] so the runtime reacts
//! to a simulated failure exactly as it would to the hardware one: a wheel
//! speed over the limit is `OutOfRange`, a write after the kill-switch latch
//! is `Refused`.

use robot_hal::ErrorKind;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The board file has no `[sim]` section, so it is not a simulated board.
    #[error("board `{0}` has no [sim] section")]
    NotSimulated(String),
    /// A board value the simulator cannot work with.
    #[error("invalid simulator setting: {0}")]
    InvalidConfig(String),
    /// A command outside the device's limits.
    #[error("{what} = {value} is outside the limit of {limit}")]
    OutOfRange { what: &'static str, value: f64, limit: f64 },
    /// The actuator's safe-stop latch is engaged.
    #[error("{0} is latched by the kill-switch")]
    Refused(&'static str),
    /// The battery is flat: the motors have no power.
    #[error("battery empty")]
    BatteryEmpty,
    /// A frame that cannot be encoded.
    #[error("cannot encode image: {0}")]
    Image(String),
}

impl robot_hal::Error for SimError {
    fn kind(&self) -> ErrorKind {
        match self {
            SimError::NotSimulated(_) | SimError::InvalidConfig(_) | SimError::Image(_) => ErrorKind::Other,
            SimError::OutOfRange { .. } => ErrorKind::OutOfRange,
            SimError::Refused(_) => ErrorKind::Refused,
            SimError::BatteryEmpty => ErrorKind::Fault,
        }
    }
}
