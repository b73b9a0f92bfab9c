//! The actuator side of the kill-switch.
//!
//! A [`SafeStop`] is a small, thread-safe handle that a backend hands out for
//! each actuator. The safety monitor calls [`SafeStop::force_safe`] from its
//! own thread the moment the kill-switch engages; it must not block on the
//! executor or on the device's normal command path (backends use atomics or
//! a dedicated priority channel), and it latches in the device: after it,
//! the device refuses motion commands with [`crate::ErrorKind::Refused`]
//! until [`SafeStop::rearm`], which only the operator reset path calls.

use crate::DeviceError;

pub trait SafeStop: Send + Sync {
    /// Short name for logs, e.g. `drive`, `gripper`.
    fn name(&self) -> &str;

    /// Command the actuator to its safe state now and refuse later commands.
    fn force_safe(&self) -> Result<(), DeviceError>;

    /// Whether the actuator is latched in its safe state.
    fn is_safe(&self) -> bool;

    /// Accept commands again. Called only by the operator reset path.
    fn rearm(&self);
}
