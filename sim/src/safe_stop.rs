//! The simulated actuators' command words and their kill-switch latches.
//!
//! The safety monitor calls [`SafeStop::force_safe`] from its own thread
//! while the executor may be writing a command at that very moment, so the
//! latch and the command share one atomic word per actuator: a write is a
//! compare-exchange that fails on the latched value, and latching is a
//! single store. There is no window in which a late executor write can undo
//! the latch, and the stop path takes no lock, so it cannot wait on the
//! world mutex or on the executor.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use robot_hal::capability::SafeStop;
use robot_hal::DeviceError;

use crate::error::SimError;

/// Both wheel speeds (f32 bit patterns, left in the high half) and the latch.
#[derive(Debug, Default)]
pub struct DriveCommand {
    word: AtomicU64,
}

/// Both halves are a NaN pattern, which `pack` can never produce because
/// commands are checked to be finite first.
const LATCHED: u64 = u64::MAX;

fn pack(left: f32, right: f32) -> u64 {
    (u64::from(left.to_bits()) << 32) | u64::from(right.to_bits())
}

fn unpack(w: u64) -> (f64, f64) {
    (f64::from(f32::from_bits((w >> 32) as u32)), f64::from(f32::from_bits(w as u32)))
}

impl DriveCommand {
    /// Store new wheel speeds unless the latch is engaged.
    pub fn set(&self, left: f64, right: f64) -> Result<(), SimError> {
        let new = pack(left as f32, right as f32);
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            if cur == LATCHED {
                return Err(SimError::Refused("drive"));
            }
            match self.word.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(seen) => cur = seen,
            }
        }
    }

    /// The wheel speeds the physics step applies: zero while latched.
    pub fn speeds(&self) -> (f64, f64) {
        match self.word.load(Ordering::Acquire) {
            LATCHED => (0.0, 0.0),
            w => unpack(w),
        }
    }

    pub fn is_latched(&self) -> bool {
        self.word.load(Ordering::Acquire) == LATCHED
    }
}

impl SafeStop for DriveCommand {
    fn name(&self) -> &str {
        "drive"
    }

    fn force_safe(&self) -> Result<(), DeviceError> {
        self.word.store(LATCHED, Ordering::Release);
        Ok(())
    }

    fn is_safe(&self) -> bool {
        self.is_latched()
    }

    fn rearm(&self) {
        self.word.store(pack(0.0, 0.0), Ordering::Release);
    }
}

/// Jaw position (bit 0: closed) and the latch (bit 1: frozen).
#[derive(Debug, Default)]
pub struct GripperCommand {
    word: AtomicU8,
}

const CLOSED: u8 = 1;
const FROZEN: u8 = 2;

impl GripperCommand {
    /// Move the jaws unless frozen. Returns whether they moved.
    pub fn set_closed(&self, closed: bool) -> Result<bool, SimError> {
        let want = u8::from(closed);
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            if cur & FROZEN != 0 {
                return Err(SimError::Refused("gripper"));
            }
            if cur == want {
                return Ok(false);
            }
            match self.word.compare_exchange_weak(cur, want, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(true),
                Err(seen) => cur = seen,
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.word.load(Ordering::Acquire) & CLOSED != 0
    }
}

impl SafeStop for GripperCommand {
    fn name(&self) -> &str {
        "gripper"
    }

    /// Freeze the jaws where they are: letting go of a held object is not
    /// safe, so a closed gripper keeps holding.
    fn force_safe(&self) -> Result<(), DeviceError> {
        self.word.fetch_or(FROZEN, Ordering::AcqRel);
        Ok(())
    }

    fn is_safe(&self) -> bool {
        self.word.load(Ordering::Acquire) & FROZEN != 0
    }

    fn rearm(&self) {
        self.word.fetch_and(!FROZEN, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latched_drive_refuses_and_reads_zero() {
        let d = DriveCommand::default();
        assert!(d.set(0.25, -0.5).is_ok());
        assert_eq!(d.speeds(), (0.25, -0.5));
        assert!(d.force_safe().is_ok());
        assert_eq!(d.speeds(), (0.0, 0.0));
        assert_eq!(d.set(0.1, 0.1), Err(SimError::Refused("drive")));
        d.rearm();
        assert!(!d.is_safe());
        assert!(d.set(0.1, 0.1).is_ok());
    }

    #[test]
    fn frozen_gripper_keeps_its_position() {
        let g = GripperCommand::default();
        assert_eq!(g.set_closed(true), Ok(true));
        assert!(g.force_safe().is_ok());
        assert_eq!(g.set_closed(false), Err(SimError::Refused("gripper")));
        assert!(g.is_closed());
        g.rearm();
        assert_eq!(g.set_closed(false), Ok(true));
    }
}
