//! How many refused remote messages reach the flight recorder.
//!
//! Every refusal is logged, but anyone who can publish to the robot's topic
//! can send refusable messages as fast as the link allows, and each record
//! costs disk. So at most [`MAX_LOGGED_REFUSALS_PER_MINUTE`] refusals are
//! written per minute of the injected clock; the rest are counted, and the
//! next record that is written carries the count, so the log still says how
//! many there were.

use std::time::Duration;

/// Refusals written to the flight recorder per minute at most.
pub const MAX_LOGGED_REFUSALS_PER_MINUTE: u32 = 30;

const WINDOW: Duration = Duration::from_secs(60);

/// Fixed one-minute windows on the injected clock.
#[derive(Debug, Clone, Default)]
pub(super) struct RefusalLimiter {
    window_start: Option<Duration>,
    logged: u32,
    suppressed: u64,
}

impl RefusalLimiter {
    /// Whether the refusal at `t` is written. `Some(n)`: write it, with `n`
    /// refusals left out before it; `None`: leave it out (it is counted).
    pub(super) fn admit(&mut self, t: Duration) -> Option<u64> {
        // A clock that went backwards starts a new window rather than
        // silencing the log until it catches up.
        let fresh = match self.window_start {
            None => true,
            Some(start) => t < start || t.saturating_sub(start) >= WINDOW,
        };
        if fresh {
            self.window_start = Some(t);
            self.logged = 0;
        }
        if self.logged < MAX_LOGGED_REFUSALS_PER_MINUTE {
            self.logged += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_limit_and_the_rest_is_counted() {
        let mut l = RefusalLimiter::default();
        let t = Duration::from_secs(100);
        let written = (0..1000).filter(|i| l.admit(t + Duration::from_millis(*i)).is_some()).count();
        assert_eq!(written, MAX_LOGGED_REFUSALS_PER_MINUTE as usize);
        // The next minute's first record carries what was left out.
        assert_eq!(l.admit(t + WINDOW), Some(1000 - u64::from(MAX_LOGGED_REFUSALS_PER_MINUTE)));
        assert_eq!(l.admit(t + WINDOW), Some(0));
    }

    #[test]
    fn a_clock_that_goes_back_does_not_silence_the_log() {
        let mut l = RefusalLimiter::default();
        for _ in 0..MAX_LOGGED_REFUSALS_PER_MINUTE {
            l.admit(Duration::from_secs(50));
        }
        assert_eq!(l.admit(Duration::from_secs(50)), None);
        assert_eq!(l.admit(Duration::from_secs(10)), Some(1));
    }
}
