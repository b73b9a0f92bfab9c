//! Device errors in the embedded-hal style.
//!
//! Every backend has its own error type (so it can carry what its hardware
//! tells it), and every such type maps onto a small, stable [`ErrorKind`]
//! that the executor and the safety code react to: a `Refused` write after the
//! kill-switch latched is not a fault, a `Timeout` may be retried, a
//! `Disconnected` device lowers the autonomy level. [`DeviceError`] is the
//! type-erased form used where devices are held as trait objects.

use std::fmt;

/// What went wrong, independent of the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The device did not answer in time.
    Timeout,
    /// The link to the device is gone (cable, co-processor reset, closed port).
    Disconnected,
    /// A command was outside the device's limits.
    OutOfRange,
    /// The write was refused because the kill-switch latch is engaged.
    Refused,
    /// The device reported a fault (stall, over-current, bad frame).
    Fault,
    /// The device cannot do this at all.
    Unsupported,
    /// Anything else.
    Other,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::OutOfRange => "out of range",
            ErrorKind::Refused => "refused (kill-switch engaged)",
            ErrorKind::Fault => "device fault",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Other => "error",
        };
        f.write_str(s)
    }
}

/// A device error: something that can say which [`ErrorKind`] it is.
pub trait Error: fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// The backend-independent class of this error.
    fn kind(&self) -> ErrorKind;
}

/// Declares the error type of a device, shared by all its capability traits.
pub trait ErrorType {
    /// The backend's own error type.
    type Error: Error;
}

/// A type-erased device error: the kind plus a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct DeviceError {
    pub kind: ErrorKind,
    pub message: String,
}

impl DeviceError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// Convert any backend error, keeping its kind and message.
    pub fn from_error<E: Error>(e: E) -> Self {
        Self { kind: e.kind(), message: e.to_string() }
    }
}

impl Error for DeviceError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl Error for std::convert::Infallible {
    fn kind(&self) -> ErrorKind {
        match *self {}
    }
}

impl<T: ErrorType + ?Sized> ErrorType for &mut T {
    type Error = T::Error;
}
