//! Replay protection: whether an authentic kill-switch message is also
//! fresh.
//!
//! A signature proves who made a message, not when: a recorded release,
//! sent again, would be just as authentic. So each issuer's counter must
//! strictly increase (the highest accepted counter is the issuer's
//! high-water mark, kept in a [`ReplayStore`](super::store::ReplayStore) so
//! a restart does not forget it), and the message's timestamp must lie
//! within a window around the robot's wall clock, which bounds how long a
//! message never delivered to the robot stays usable. The clock is passed
//! in, never read here.
//!
//! The same persisted state remembers a remote engage that no release has
//! cleared yet ([`StandingEngage`]), so a robot that restarts comes back
//! stopped instead of relying on the broker to deliver the stop again.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::message::KillFields;

/// How far a message's timestamp may be from the robot's clock, either way.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30);

/// The accepted timestamp window around the robot's wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// How old a message may be.
    pub past: Duration,
    /// How far ahead of the robot's clock a message may be (the host's
    /// clock running fast).
    pub future: Duration,
}

impl Default for TimeWindow {
    fn default() -> TimeWindow {
        TimeWindow::symmetric(DEFAULT_WINDOW)
    }
}

impl TimeWindow {
    pub fn symmetric(d: Duration) -> TimeWindow {
        TimeWindow { past: d, future: d }
    }
}

/// A remote engage that no release has cleared yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingEngage {
    pub issuer: String,
    pub counter: u64,
}

/// What the robot remembers about remote kill-switch messages across
/// restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayState {
    /// The highest counter accepted from each issuer.
    #[serde(default)]
    pub high_water: BTreeMap<String, u64>,
    #[serde(default)]
    pub standing_engage: Option<StandingEngage>,
}

/// An authentic message that is not fresh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error("counter {counter} from `{issuer}` is not above its last accepted counter {high_water}: replayed or out of order")]
    Replayed { issuer: String, counter: u64, high_water: u64 },
    #[error("timestamp {timestamp_ms} is {age_ms} ms older than the robot's clock ({now_ms}); at most {max_ms} ms is accepted")]
    Stale { timestamp_ms: u64, now_ms: u64, age_ms: u64, max_ms: u64 },
    #[error("timestamp {timestamp_ms} is {ahead_ms} ms ahead of the robot's clock ({now_ms}); at most {max_ms} ms is accepted")]
    FromFuture { timestamp_ms: u64, now_ms: u64, ahead_ms: u64, max_ms: u64 },
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl ReplayState {
    /// The highest counter accepted from `issuer` (0 when none was).
    pub fn high_water(&self, issuer: &str) -> u64 {
        self.high_water.get(issuer).copied().unwrap_or(0)
    }

    /// Whether `fields` are fresh at `now_unix_ms`. Records nothing: the
    /// caller [`accept`](Self::accept)s the message once it acts on it.
    pub fn check(&self, fields: &KillFields, now_unix_ms: u64, window: TimeWindow) -> Result<(), ReplayError> {
        let high_water = self.high_water(&fields.issuer);
        if fields.counter <= high_water {
            return Err(ReplayError::Replayed { issuer: fields.issuer.clone(), counter: fields.counter, high_water });
        }
        let ts = fields.timestamp_ms;
        if ts < now_unix_ms {
            let age_ms = now_unix_ms - ts;
            let max_ms = millis(window.past);
            if age_ms > max_ms {
                return Err(ReplayError::Stale { timestamp_ms: ts, now_ms: now_unix_ms, age_ms, max_ms });
            }
        } else {
            let ahead_ms = ts - now_unix_ms;
            let max_ms = millis(window.future);
            if ahead_ms > max_ms {
                return Err(ReplayError::FromFuture { timestamp_ms: ts, now_ms: now_unix_ms, ahead_ms, max_ms });
            }
        }
        Ok(())
    }

    /// Raise the issuer's high-water mark to this message's counter.
    pub fn accept(&mut self, fields: &KillFields) {
        let hw = self.high_water.entry(fields.issuer.clone()).or_insert(0);
        *hw = (*hw).max(fields.counter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::message::Action;

    const NOW: u64 = 1_700_000_000_000;

    fn msg(counter: u64, timestamp_ms: u64) -> KillFields {
        KillFields { robot_id: "r".into(), action: Action::Engage, counter, timestamp_ms, issuer: "console".into() }
    }

    #[test]
    fn counters_must_strictly_increase_per_issuer() {
        let mut s = ReplayState::default();
        let w = TimeWindow::default();
        s.check(&msg(5, NOW), NOW, w).unwrap();
        s.accept(&msg(5, NOW));
        assert!(matches!(s.check(&msg(5, NOW), NOW, w), Err(ReplayError::Replayed { high_water: 5, .. })));
        assert!(matches!(s.check(&msg(4, NOW), NOW, w), Err(ReplayError::Replayed { counter: 4, .. })));
        s.check(&msg(6, NOW), NOW, w).unwrap();
        let mut other = msg(1, NOW);
        other.issuer = "fleet".into();
        s.check(&other, NOW, w).unwrap();
    }

    #[test]
    fn the_window_is_inclusive_and_applies_both_ways() {
        let s = ReplayState::default();
        let w = TimeWindow { past: Duration::from_secs(30), future: Duration::from_secs(5) };
        s.check(&msg(1, NOW - 30_000), NOW, w).unwrap();
        s.check(&msg(1, NOW + 5_000), NOW, w).unwrap();
        assert!(matches!(s.check(&msg(1, NOW - 30_001), NOW, w), Err(ReplayError::Stale { age_ms: 30_001, .. })));
        assert!(matches!(s.check(&msg(1, NOW + 5_001), NOW, w), Err(ReplayError::FromFuture { ahead_ms: 5_001, .. })));
        // Extremes of the clock do not overflow.
        assert!(matches!(s.check(&msg(1, 0), u64::MAX, w), Err(ReplayError::Stale { .. })));
        assert!(matches!(s.check(&msg(1, u64::MAX), 0, w), Err(ReplayError::FromFuture { .. })));
    }

    #[test]
    fn accept_never_lowers_the_mark() {
        let mut s = ReplayState::default();
        s.accept(&msg(9, NOW));
        s.accept(&msg(3, NOW));
        assert_eq!(s.high_water("console"), 9);
    }
}
