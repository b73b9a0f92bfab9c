//! Time, injected so a simulated run can be replayed exactly.
//!
//! Everything in the runtime that needs "now" or "wait" asks a [`Clock`].
//! On hardware it is [`MonotonicClock`]; in the simulator, `sleep` advances
//! the simulated world instead of waiting, which is how the simulator runs
//! faster than real time and stays deterministic.

use std::time::{Duration, Instant};

pub trait Clock: Send + Sync {
    /// Time since the clock's epoch (start of the run).
    fn now(&self) -> Duration;

    /// Let `d` pass. On a simulated clock this steps the world.
    fn sleep(&self, d: Duration);
}

impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> Duration {
        (**self).now()
    }
    fn sleep(&self, d: Duration) {
        (**self).sleep(d)
    }
}

/// Wall-clock time from the OS monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    epoch: Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        Self { epoch: Instant::now() }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
}
