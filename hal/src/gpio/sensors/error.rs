//! The error of the GPIO boards' sensors: I2C devices, the SoC thermal
//! zone and the wheel encoders. Each maps onto an [`ErrorKind`] so the
//! executor treats a sensor that stopped answering (`Disconnected`)
//! differently from one that answered nonsense (`Fault`).

use crate::ErrorKind;

/// What went wrong reading a sensor on a `raspberry-pi` or `linux-gpio` board.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SensorError {
    /// An I2C transfer failed; `kind` says how (no acknowledge: the device is absent).
    #[error("{device} at I2C address {addr:#04x}: {message}")]
    I2c { device: &'static str, addr: u8, kind: ErrorKind, message: String },
    /// The device answered, but not as that device would.
    #[error("{device} at I2C address {addr:#04x}: {message}")]
    Invalid { device: &'static str, addr: u8, message: String },
    /// The device did not finish in time.
    #[error("{device} at I2C address {addr:#04x}: timed out")]
    Timeout { device: &'static str, addr: u8 },
    /// A sysfs file could not be read or parsed.
    #[error("{path}: {message}")]
    File { path: String, kind: ErrorKind, message: String },
    /// The wheel-encoder edge source failed; the counts are frozen.
    #[error("wheel encoders stopped counting: {0}")]
    Encoders(String),
}

impl crate::Error for SensorError {
    fn kind(&self) -> ErrorKind {
        match self {
            SensorError::I2c { kind, .. } | SensorError::File { kind, .. } => *kind,
            SensorError::Invalid { .. } | SensorError::Encoders(_) => ErrorKind::Fault,
            SensorError::Timeout { .. } => ErrorKind::Timeout,
        }
    }
}

impl SensorError {
    /// An embedded-hal I2C error of `device`: a missing acknowledge means
    /// nothing answers at the address, anything else is a bus fault.
    pub fn i2c<E: embedded_hal::i2c::Error>(device: &'static str, addr: u8, e: &E) -> Self {
        use embedded_hal::i2c::ErrorKind as K;
        let kind = match e.kind() {
            K::NoAcknowledge(_) => ErrorKind::Disconnected,
            _ => ErrorKind::Fault,
        };
        SensorError::I2c { device, addr, kind, message: format!("{e:?}") }
    }
}
