//! The [`Policy`] itself: the current autonomy level, the board's cap, how
//! the level moves (raised only by an operator, lowered by faults), and
//! what the robot does on an anomaly at each level.
//!
//! The mapping is documented in `docs/autonomy.md`; the tests in
//! `policy/tests.rs` pin it.

use std::time::Duration;

use robot_hal::board::{BoardFile, Level, Rules};

use super::geofence::Geofence;
use super::source::Source;

/// Plans from the brain below this confidence need one confirmation at
/// levels that would otherwise run them without asking.
pub const DEFAULT_CONFIDENCE_THRESHOLD: f64 = 0.6;

/// How far outside the geofence odometry may wander while running before
/// the monitor stops the robot (the plan itself was checked strictly).
pub const DEFAULT_GEOFENCE_MARGIN_M: f64 = 0.1;

/// A level change the policy refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("autonomy level {requested} is above this board's cap {cap}")]
    AboveCap { requested: Level, cap: Level },
    #[error("only an operator may raise the autonomy level (a {by} asked to go from {current} to {requested})")]
    RaiseNotByOperator { requested: Level, current: Level, by: &'static str },
}

/// Something that went wrong and lowers the autonomy level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// A device reported a fault: the robot can no longer verify its own
    /// steps, so a person confirms each one (at most L1).
    DeviceFault,
    /// The operator link went silent. Levels that need an operator (L2, L3)
    /// drop to L1, where nothing runs until the operator is back; L4 and L5
    /// need no operator and keep their level.
    OperatorLinkLost,
    /// A step failed verification: the robot's picture of the world is
    /// wrong, so the next plan is confirmed once (at most L2).
    StepFailed,
    /// The battery fell below the motion minimum: a person decides how to
    /// recover (at most L2).
    BatteryLow,
    /// The running monitor caught a rule violation (geofence, battery while
    /// moving): at most L1.
    RuleViolation,
    /// The kill-switch latched: after the reset every step is confirmed
    /// until the operator raises the level again (at most L1).
    EmergencyStop,
}

impl Fault {
    /// The highest level the robot keeps after this fault at `level`.
    pub fn ceiling(self, level: Level) -> Level {
        match self {
            Fault::DeviceFault | Fault::RuleViolation | Fault::EmergencyStop => Level::L1,
            Fault::OperatorLinkLost if matches!(level, Level::L2 | Level::L3) => Level::L1,
            Fault::OperatorLinkLost => level,
            Fault::StepFailed | Fault::BatteryLow => Level::L2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::DeviceFault => "device fault",
            Fault::OperatorLinkLost => "operator link lost",
            Fault::StepFailed => "step failed",
            Fault::BatteryLow => "battery low",
            Fault::RuleViolation => "rule violation",
            Fault::EmergencyStop => "emergency stop",
        }
    }
}

/// What the robot does when a step fails or a rule is violated mid-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnomalyResponse {
    /// L0-L2: the operator is in the loop; stop and tell them.
    StopAndReport,
    /// L3: stop, ask the operator to take over, and stay in a safe stop if
    /// nobody answers within `timeout`.
    RequestTakeover { timeout: Duration },
    /// L4-L5: stop all motion and report, without waiting for anyone.
    MinimalRiskStop,
}

/// Autonomy level and board rules, enforced outside any model.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    level: Level,
    cap: Level,
    pub(super) rules: Rules,
    pub(super) geofence: Option<Geofence>,
    pub(super) geofence_margin_m: f64,
    pub(super) confidence_threshold: f64,
    takeover_timeout: Duration,
}

impl Policy {
    /// The policy a board declares, at its default level.
    pub fn new(board: &BoardFile) -> Policy {
        let cap = board.autonomy.cap;
        Policy {
            // The loader refuses a default above the cap; clamp anyway so a
            // hand-built board cannot start above it.
            level: board.autonomy.default.min(cap),
            cap,
            rules: board.rules.clone(),
            geofence: Geofence::new(&board.rules.geofence),
            geofence_margin_m: DEFAULT_GEOFENCE_MARGIN_M,
            confidence_threshold: DEFAULT_CONFIDENCE_THRESHOLD,
            takeover_timeout: Duration::try_from_secs_f64(board.autonomy.takeover_timeout_s)
                .unwrap_or(Duration::from_secs(10)),
        }
    }

    /// Use another confidence threshold (clamped to 0..=1; NaN keeps the
    /// current one).
    pub fn with_confidence_threshold(mut self, threshold: f64) -> Policy {
        if !threshold.is_nan() {
            self.confidence_threshold = threshold.clamp(0.0, 1.0);
        }
        self
    }

    /// Use another running geofence margin (metres, at least 0; NaN keeps
    /// the current one).
    pub fn with_geofence_margin(mut self, margin_m: f64) -> Policy {
        if !margin_m.is_nan() {
            self.geofence_margin_m = margin_m.max(0.0);
        }
        self
    }

    pub fn level(&self) -> Level {
        self.level
    }

    pub fn cap(&self) -> Level {
        self.cap
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn geofence(&self) -> Option<&Geofence> {
        self.geofence.as_ref()
    }

    pub fn confidence_threshold(&self) -> f64 {
        self.confidence_threshold
    }

    /// How long an L3 takeover request waits (`autonomy.takeover_timeout_s`).
    pub fn takeover_timeout(&self) -> Duration {
        self.takeover_timeout
    }

    /// An operator sets the level: anything up to the board's cap.
    pub fn set_level_by_operator(&mut self, to: Level) -> Result<Level, PolicyError> {
        if to > self.cap {
            return Err(PolicyError::AboveCap { requested: to, cap: self.cap });
        }
        self.level = to;
        Ok(to)
    }

    /// A level change from any source: only an operator may raise the
    /// level; the brain or a remote command may only lower it.
    pub fn set_level(&mut self, to: Level, by: &Source) -> Result<Level, PolicyError> {
        match by {
            Source::Operator => self.set_level_by_operator(to),
            _ if to > self.level => {
                Err(PolicyError::RaiseNotByOperator { requested: to, current: self.level, by: by.as_str() })
            }
            _ => {
                self.level = to;
                Ok(to)
            }
        }
    }

    /// Lower the level for a fault (never raises it); returns the new level.
    pub fn lower_for_fault(&mut self, fault: Fault) -> Level {
        self.level = self.level.min(fault.ceiling(self.level));
        self.level
    }

    /// What to do on an anomaly at the current level.
    pub fn on_anomaly(&self) -> AnomalyResponse {
        match self.level {
            Level::L0 | Level::L1 | Level::L2 => AnomalyResponse::StopAndReport,
            Level::L3 => AnomalyResponse::RequestTakeover { timeout: self.takeover_timeout },
            Level::L4 | Level::L5 => AnomalyResponse::MinimalRiskStop,
        }
    }
}
