//! The error of both GPIO backends.

use super::sensors::SensorError;
use crate::ErrorKind;

/// What went wrong on a `raspberry-pi` or `linux-gpio` board.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GpioError {
    /// The backend was asked to run on a machine that is not a Raspberry Pi.
    #[error("not a Raspberry Pi: {0}")]
    NotARaspberryPi(String),
    /// This build has no support for the board's backend.
    #[error("this build of robot has no {backend} support (build with the `{feature}` feature)")]
    NotBuilt { backend: &'static str, feature: &'static str },
    /// The board file lacks something the backend needs (the checker normally catches it first).
    #[error("board file: {0}")]
    Config(String),
    /// A GPIO chip, line or PWM channel could not be opened.
    #[error("cannot open {what}: {message}")]
    Open { what: String, message: String },
    /// Reading or writing an open line or channel failed.
    #[error("{what}: {message}")]
    Io { what: String, message: String },
    #[error("{what} {value} is outside ±{limit}")]
    OutOfRange { what: &'static str, value: f64, limit: f64 },
    /// The motors are latched off by the kill-switch.
    #[error("refused: the kill-switch latch is engaged")]
    Refused,
    /// A sensor the board file names could not be opened.
    #[error(transparent)]
    Sensor(#[from] SensorError),
}

impl crate::Error for GpioError {
    fn kind(&self) -> ErrorKind {
        match self {
            GpioError::NotARaspberryPi(_) | GpioError::NotBuilt { .. } => ErrorKind::Unsupported,
            GpioError::Config(_) => ErrorKind::Other,
            GpioError::Open { .. } => ErrorKind::Disconnected,
            GpioError::Io { .. } => ErrorKind::Fault,
            GpioError::OutOfRange { .. } => ErrorKind::OutOfRange,
            GpioError::Refused => ErrorKind::Refused,
            GpioError::Sensor(e) => crate::Error::kind(e),
        }
    }
}

/// Constructors the backends use to wrap their crates' errors with what failed.
impl GpioError {
    pub fn io(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        GpioError::Io { what: what.into(), message: e.to_string() }
    }
    pub fn open(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        GpioError::Open { what: what.into(), message: e.to_string() }
    }
}
