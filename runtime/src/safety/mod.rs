//! The kill-switch (e-stop): a latch below everything else.
//!
//! Three things can engage it: the hardware line (read by the
//! [`monitor::LineMonitor`] thread, by level, never by counting edges), a
//! remote stop, and software (`Latch::engage` from any thread). Engaging
//! commands every actuator's [`robot_hal::capability::SafeStop`] directly
//! from the engaging thread: the path from a line change to safe actuators
//! goes through no queue, no executor, no async runtime and no model, so it
//! cannot wait on them. Once engaged the latch refuses every actuator write
//! (both here, through [`Latch::check_write`], and inside each device, whose
//! safe-stop handle latches too) and only a deliberate operator reset, with
//! the line released for the debounce time, clears it; there is no code
//! path by which software releases it on its own.

mod latch;
mod monitor;

pub use latch::{Cause, Latch, OperatorReset, ResetError, SafetyEvent};
pub use monitor::LineMonitor;
