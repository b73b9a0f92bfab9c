//! Simulated output lines (GPIO outputs such as a motor-enable line).
//!
//! The simulated rover's motors need no enable line, so a [`SimOutputPin`]
//! drives nothing in the world: it records its level and every change with
//! the simulated time it happened at, so scenarios and tests can check that
//! the runtime raised and lowered it when it should. Clones share the line,
//! so a test keeps one handle while the runtime's registry owns another.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use robot_hal::capability::{Clock, OutputPin};
use robot_hal::ErrorType;

use crate::error::SimError;
use crate::sim::{Sim, SimClock};

/// How many of the latest level changes a line keeps.
pub const KEPT_CHANGES: usize = 1024;

#[derive(Debug)]
struct Level {
    high: bool,
    /// The latest changes, oldest first, with the simulated time of each.
    changes: Vec<(Duration, bool)>,
}

/// An output line of the simulated rover; see the module docs.
#[derive(Debug, Clone)]
pub struct SimOutputPin {
    name: Arc<str>,
    clock: SimClock,
    level: Arc<Mutex<Level>>,
}

impl SimOutputPin {
    /// A line called `name` (for messages), starting `high` or low, whose
    /// changes are stamped with `clock`.
    pub fn new(name: &str, clock: SimClock, high: bool) -> Self {
        Self { name: name.into(), clock, level: Arc::new(Mutex::new(Level { high, changes: Vec::new() })) }
    }

    /// The rover's motor-enable line, starting low (motors disabled) as a
    /// real driver board's enable pin does at power-on.
    pub fn motor_enable(sim: &Sim) -> Self {
        Self::new("motor-enable", sim.clock(), false)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, Level> {
        // A writer cannot leave the level half-updated.
        self.level.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current level.
    pub fn is_set_high(&self) -> bool {
        self.lock().high
    }

    /// The latest [`KEPT_CHANGES`] level changes, oldest first, each with
    /// the simulated time it happened at. Writes that keep the level are
    /// not changes.
    pub fn changes(&self) -> Vec<(Duration, bool)> {
        self.lock().changes.clone()
    }

    fn set(&self, high: bool) {
        // Read the clock first: it takes the world lock, which must never
        // be taken while this line's lock is held.
        let now = self.clock.now();
        let mut l = self.lock();
        if l.high != high {
            l.high = high;
            if l.changes.len() == KEPT_CHANGES {
                l.changes.remove(0);
            }
            l.changes.push((now, high));
        }
    }
}

impl ErrorType for SimOutputPin {
    type Error = SimError;
}

impl OutputPin for SimOutputPin {
    fn set_high(&mut self) -> Result<(), SimError> {
        self.set(true);
        Ok(())
    }

    fn set_low(&mut self) -> Result<(), SimError> {
        self.set(false);
        Ok(())
    }
}
