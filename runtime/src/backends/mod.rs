//! Binding a board's backend to the runtime: which devices, which safe-stop
//! handles for the latch, and which kill-switch line. The simulator backend
//! lives in [`crate::session`] (it also owns the simulated world); hardware
//! backends are here: a serial co-processor ([`serial`]) and boards wired
//! to their own GPIO header, Raspberry Pi and Jetson/Linux ([`gpio`]).

pub mod gpio;
pub mod serial;

use std::sync::Arc;

use robot_hal::capability::erased::DynInput;
use robot_hal::capability::SafeStop;

use crate::devices::Devices;

/// What a backend hands the runtime.
pub struct Bound {
    pub devices: Devices,
    /// Every actuator's safe-stop handle, for the latch.
    pub safe_stops: Vec<Arc<dyn SafeStop>>,
    /// The kill-switch line, for the line monitor.
    pub estop_line: DynInput,
}
