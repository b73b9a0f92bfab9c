//! Who a program comes from, and the facts about the robot a preflight
//! needs: level, start pose, battery, operator link.

use robot_hal::board::Level;
use robot_hal::Pose;

/// Where a program came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// Typed (or picked) by the operator.
    Operator,
    /// Proposed by the on-board brain, with its confidence (0..1).
    Brain { confidence: f64 },
    /// Arrived over the network (a remote brain or fleet console).
    Remote,
}

impl Source {
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Operator => "operator",
            Source::Brain { .. } => "brain",
            Source::Remote => "remote",
        }
    }

    /// The brain's confidence, when it is below `threshold` (a NaN
    /// confidence counts as below).
    pub(super) fn low_confidence(&self, threshold: f64) -> Option<f64> {
        match *self {
            Source::Brain { confidence } if confidence.is_nan() || confidence < threshold => Some(confidence),
            _ => None,
        }
    }
}

/// What the policy needs to know about the robot to check a program.
#[derive(Debug, Clone, PartialEq)]
pub struct RunContext {
    pub level: Level,
    pub source: Source,
    /// Odometry pose the program starts from.
    pub start_pose: Pose,
    /// Battery charge, 0..1.
    pub battery: f64,
    /// Whether an operator link is up (a local terminal counts).
    pub operator_link: bool,
}
