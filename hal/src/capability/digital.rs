//! Digital input and output lines (GPIO).
//!
//! The kill-switch is read through [`InputPin`] by level; [`WaitForEdge`]
//! only wakes the reader early (an interrupt on a Raspberry Pi via rppal, a
//! line event on the Linux GPIO character device): the level read after the
//! wake-up is what counts, so a missed or bouncing edge cannot hide a stop.

use std::time::Duration;

use crate::ErrorType;

pub trait InputPin: ErrorType {
    fn is_high(&mut self) -> Result<bool, Self::Error>;
    fn is_low(&mut self) -> Result<bool, Self::Error> {
        self.is_high().map(|h| !h)
    }
}

pub trait OutputPin: ErrorType {
    fn set_high(&mut self) -> Result<(), Self::Error>;
    fn set_low(&mut self) -> Result<(), Self::Error>;
}

/// An input line that can block until its level may have changed.
pub trait WaitForEdge: InputPin {
    /// Block until an edge is seen or `timeout` passes. `Ok(true)` means an
    /// edge was seen; spurious wake-ups are allowed, so callers re-read the level.
    fn wait_for_edge(&mut self, timeout: Duration) -> Result<bool, Self::Error>;
}

impl<T: InputPin + ?Sized> InputPin for &mut T {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        (**self).is_high()
    }
}

impl<T: OutputPin + ?Sized> OutputPin for &mut T {
    fn set_high(&mut self) -> Result<(), Self::Error> {
        (**self).set_high()
    }
    fn set_low(&mut self) -> Result<(), Self::Error> {
        (**self).set_low()
    }
}
