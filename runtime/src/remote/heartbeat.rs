//! The operator-link watchdog: a robot at a level that needs an operator
//! stops when its operator goes silent.
//!
//! `docs/autonomy.md` makes the operator link required at L0 to L3 (the
//! operator confirms, monitors, or is the fallback) and not needed at L4
//! and L5. The operator's console sends heartbeats; the network event loop
//! calls [`OperatorLink::beat`] for each one and [`OperatorLink::tick`] on
//! its timer. When the link has been silent for the board's
//! `autonomy.operator_heartbeat_s` ([`DEFAULT_OPERATOR_HEARTBEAT`] when the
//! board leaves it out) at such a level, `tick` reports the loss once, and
//! [`LinkLoss::apply`] does what the levels prescribe: the latch engages
//! (so motion stops and only an operator reset clears it) and the level
//! drops as for [`Fault::OperatorLinkLost`]. Pure logic: every time is
//! passed in from the injected clock.

use std::time::Duration;

use robot_hal::board::{BoardFile, Level};

use crate::policy::{Fault, Policy};
use crate::safety::{Cause, Latch};

/// How long the operator link may be silent, when the board does not say
/// (the board file's own default for `operator_heartbeat_s`). The console
/// should beat several times per timeout, e.g. every 500 ms for 2 s, so one
/// lost packet does not stop the robot.
pub const DEFAULT_OPERATOR_HEARTBEAT: Duration = Duration::from_secs(2);

/// Whether `level` needs a live operator link (L0 to L3).
pub fn needs_operator(level: Level) -> bool {
    level <= Level::L3
}

/// The link was silent too long at a level that needs an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkLoss {
    pub silent_for: Duration,
    /// The level at the time of the loss.
    pub level: Level,
}

impl LinkLoss {
    /// Stop the robot and lower the level as the levels prescribe. Returns
    /// the new level; the latch's own event queue records the engagement.
    pub fn apply(&self, latch: &Latch, policy: &mut Policy) -> Level {
        latch.engage(Cause::Software);
        policy.lower_for_fault(Fault::OperatorLinkLost)
    }
}

/// Watches the operator link's heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorLink {
    timeout: Duration,
    last_beat: Duration,
    lost: bool,
}

impl OperatorLink {
    /// A watchdog that counts `now` as the last beat, so a robot that
    /// starts at an operator level with nobody connected stops after one
    /// timeout rather than at once.
    pub fn new(timeout: Duration, now: Duration) -> OperatorLink {
        OperatorLink { timeout, last_beat: now, lost: false }
    }

    /// The board's `autonomy.operator_heartbeat_s`; a value that is not a
    /// positive, finite number of seconds gives the default.
    pub fn from_board(board: &BoardFile, now: Duration) -> OperatorLink {
        let timeout = Duration::try_from_secs_f64(board.autonomy.operator_heartbeat_s)
            .ok()
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_OPERATOR_HEARTBEAT);
        OperatorLink::new(timeout, now)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether a loss was reported and no beat came since.
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// A heartbeat arrived. Returns whether the link was lost until now; a
    /// restored link releases nothing, the stop stands until an operator
    /// resets it.
    pub fn beat(&mut self, now: Duration) -> bool {
        // A beat stamped before the last one (a reordered delivery) does
        // not move the deadline back.
        self.last_beat = self.last_beat.max(now);
        std::mem::take(&mut self.lost)
    }

    /// Check the link at `now` while the robot is at `level`. Reports a loss
    /// once, at the first tick the link has been silent for the timeout at a
    /// level that needs an operator (including a level reached after the
    /// silence began), and not again until a beat arrives.
    pub fn tick(&mut self, now: Duration, level: Level) -> Option<LinkLoss> {
        let silent_for = now.saturating_sub(self.last_beat);
        if self.lost || !needs_operator(level) || silent_for < self.timeout {
            return None;
        }
        self.lost = true;
        Some(LinkLoss { silent_for, level })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn board() -> BoardFile {
        BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml")).unwrap()
    }

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn the_timeout_comes_from_the_board_or_the_default() {
        let mut b = board();
        b.autonomy.operator_heartbeat_s = 3.5;
        assert_eq!(OperatorLink::from_board(&b, Duration::ZERO).timeout(), s(3.5));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            b.autonomy.operator_heartbeat_s = bad;
            assert_eq!(OperatorLink::from_board(&b, Duration::ZERO).timeout(), DEFAULT_OPERATOR_HEARTBEAT, "{bad}");
        }
    }

    #[test]
    fn operator_levels_are_l0_to_l3() {
        let needing: Vec<Level> = Level::ALL.into_iter().filter(|l| needs_operator(*l)).collect();
        assert_eq!(needing, vec![Level::L0, Level::L1, Level::L2, Level::L3]);
    }

    #[test]
    fn beats_keep_the_link_up_and_silence_for_the_timeout_loses_it_once() {
        let mut link = OperatorLink::new(s(2.0), Duration::ZERO);
        for i in 1..=10 {
            link.beat(s(i as f64 * 0.5));
            assert_eq!(link.tick(s(i as f64 * 0.5 + 1.9), Level::L2), None);
        }
        let last = s(5.0);
        assert_eq!(link.tick(last + s(1.999), Level::L2), None);
        assert_eq!(link.tick(last + s(2.0), Level::L2), Some(LinkLoss { silent_for: s(2.0), level: Level::L2 }));
        assert_eq!(link.tick(last + s(9.0), Level::L2), None, "reported once");
        assert!(link.is_lost());
        assert!(link.beat(last + s(10.0)), "the beat says the link was lost");
        assert!(!link.is_lost());
        assert!(link.tick(last + s(12.0), Level::L3).is_some(), "a new silence is a new loss");
    }

    #[test]
    fn silence_at_an_autonomous_level_is_not_a_loss_until_the_level_needs_an_operator() {
        let mut link = OperatorLink::new(s(2.0), Duration::ZERO);
        assert_eq!(link.tick(s(60.0), Level::L4), None);
        assert_eq!(link.tick(s(61.0), Level::L5), None);
        assert!(!link.is_lost());
        // Lowered to an operator level while nobody is there: lost at once.
        assert_eq!(link.tick(s(61.0), Level::L1).map(|l| l.level), Some(Level::L1));
    }

    #[test]
    fn a_late_reordered_beat_does_not_move_the_deadline_back_and_a_clock_step_back_is_no_loss() {
        let mut link = OperatorLink::new(s(2.0), Duration::ZERO);
        link.beat(s(10.0));
        link.beat(s(4.0));
        assert_eq!(link.tick(s(11.9), Level::L2), None);
        assert_eq!(link.tick(s(1.0), Level::L2), None);
    }

    #[test]
    fn a_loss_at_an_operator_level_engages_the_latch_and_lowers_the_level() {
        let b = board();
        let latch = Latch::new(Vec::new(), Duration::ZERO);
        let mut policy = Policy::new(&b);
        policy.set_level_by_operator(Level::L3).unwrap();
        let mut link = OperatorLink::from_board(&b, Duration::ZERO);
        let loss = link.tick(s(b.autonomy.operator_heartbeat_s), policy.level()).unwrap();
        assert_eq!(loss.apply(&latch, &mut policy), Level::L1);
        assert!(latch.is_engaged());
        assert_eq!(latch.cause(), Some(Cause::Software));
    }

    #[test]
    fn a_silent_link_at_l4_leaves_the_robot_running() {
        let b = board();
        let latch: Arc<Latch> = Latch::new(Vec::new(), Duration::ZERO);
        let mut policy = Policy::new(&b);
        policy.set_level_by_operator(Level::L4).unwrap();
        let mut link = OperatorLink::from_board(&b, Duration::ZERO);
        for i in 0..600 {
            if let Some(loss) = link.tick(s(f64::from(i) * 0.1), policy.level()) {
                loss.apply(&latch, &mut policy);
            }
        }
        assert!(!latch.is_engaged());
        assert_eq!(policy.level(), Level::L4);
    }
}
