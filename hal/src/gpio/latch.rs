//! The latch a GPIO drive shares with its safe stop.
//!
//! The safe stop must act without waiting for the drive (which may be in
//! the middle of a command on the executor's thread), so the two share only
//! this: an atomic flag the drive checks before every command, and the
//! motor-enable output behind its own mutex, which the drive never locks
//! (only the safe stop and re-arm do). Dropping the enable pin turns the
//! driver's outputs off whatever the PWM and direction pins say.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Latched flag plus the motor-enable output `P`.
#[derive(Debug)]
pub struct MotorLatch<P> {
    latched: AtomicBool,
    enable: Mutex<P>,
}

impl<P> MotorLatch<P> {
    /// A latch over an enable output. It starts latched: the motors are
    /// enabled by the first [`MotorLatch::rearm`], after the kill-switch
    /// line has been read released.
    pub fn new(enable: P) -> Self {
        Self { latched: AtomicBool::new(true), enable: Mutex::new(enable) }
    }

    pub fn is_latched(&self) -> bool {
        self.latched.load(Ordering::SeqCst)
    }

    /// Latch first (so a racing drive command is refused), then run `drop`
    /// on the enable output.
    pub fn engage<E>(&self, drop: impl FnOnce(&mut P) -> Result<(), E>) -> Result<(), E> {
        self.latched.store(true, Ordering::SeqCst);
        // A poisoned lock only means another stop panicked mid-write; the pin is still ours to drive low.
        let mut pin = self.enable.lock().unwrap_or_else(|p| p.into_inner());
        drop(&mut pin)
    }

    /// Raise the enable output with `raise`, then accept commands again.
    pub fn rearm<E>(&self, raise: impl FnOnce(&mut P) -> Result<(), E>) -> Result<(), E> {
        let mut pin = self.enable.lock().unwrap_or_else(|p| p.into_inner());
        raise(&mut pin)?;
        self.latched.store(false, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_latched_and_engage_latches_before_dropping() {
        let latch = MotorLatch::new(true);
        assert!(latch.is_latched());
        latch
            .rearm::<()>(|p| {
                *p = true;
                Ok(())
            })
            .unwrap();
        assert!(!latch.is_latched());
        let mut latched_while_dropping = false;
        latch
            .engage::<()>(|p| {
                latched_while_dropping = latch.is_latched();
                *p = false;
                Ok(())
            })
            .unwrap();
        assert!(latched_while_dropping && latch.is_latched());
    }

    #[test]
    fn failed_rearm_stays_latched() {
        let latch = MotorLatch::new(false);
        assert!(latch.rearm(|_| Err("pin busy")).is_err());
        assert!(latch.is_latched());
    }
}
