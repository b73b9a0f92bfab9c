//! What the flight recorder records: one [`Record`] per line, each an
//! [`Event`] with its sequence number and the injected clock's time.
//!
//! The JSON shape is the log format `robot replay` reads, so variants and
//! field names only ever grow.

use robot_hal::Pose;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Something that happened, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A session started: enough to replay it.
    RunStart {
        board: String,
        robot_id: String,
        seed: u64,
        level: String,
        yes: bool,
        estop_at_s: Option<f64>,
    },
    /// Text from the operator, a command, or the program the brain made of
    /// an utterance.
    Input {
        source: String,
        text: String,
        /// The brain's confidence in its program (source `brain`): the
        /// policy weighs it, so a replay needs it. Absent otherwise, and in
        /// logs written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f64>,
    },
    /// A program about to be checked, as text and as the JSON step list.
    Plan {
        program: String,
        steps: Json,
    },
    /// The policy's verdict: accepted, rejected, declined, needs_confirmation.
    Decision {
        decision: String,
        reason: String,
    },
    /// A question put to the operator and the answer.
    Confirm {
        question: String,
        answer: String,
    },
    StepStart {
        index: usize,
        tool: String,
        args: Json,
    },
    StepEnd {
        index: usize,
        tool: String,
        status: String,
        attempts: u32,
        expected: Json,
        observed: Json,
        message: String,
    },
    /// Kill-switch line low, latch engaged, actuator safe, write refused, reset.
    Safety {
        what: String,
        detail: String,
    },
    /// A remote kill-switch message was refused (forged, replayed, stale,
    /// malformed, for another robot, or a release the robot's own
    /// conditions do not allow). `suppressed` counts refusals left out of
    /// the log since the last one recorded, so a flood cannot fill the disk.
    RemoteRefused {
        reason: String,
        detail: String,
        suppressed: u64,
    },
    /// The autonomy level changed.
    Level {
        from: String,
        to: String,
        reason: String,
    },
    RunEnd {
        status: String,
        reason: String,
        final_pose: Option<Pose>,
    },
}

impl Event {
    /// The `type` tag of this event in the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStart { .. } => "run_start",
            Event::Input { .. } => "input",
            Event::Plan { .. } => "plan",
            Event::Decision { .. } => "decision",
            Event::Confirm { .. } => "confirm",
            Event::StepStart { .. } => "step_start",
            Event::StepEnd { .. } => "step_end",
            Event::Safety { .. } => "safety",
            Event::RemoteRefused { .. } => "remote_refused",
            Event::Level { .. } => "level",
            Event::RunEnd { .. } => "run_end",
        }
    }

    /// Events that must reach the disk before the recorder returns: what a
    /// post-mortem needs most if the power goes right after.
    pub fn must_persist(&self) -> bool {
        matches!(self, Event::Safety { .. } | Event::RunEnd { .. })
    }

    /// JSON has no NaN or infinity (serde_json would write `null`, which
    /// does not read back as a number): non-finite values are recorded as
    /// absent instead.
    pub(super) fn sanitised(mut self) -> Event {
        match &mut self {
            Event::RunStart { estop_at_s, .. } if estop_at_s.is_some_and(|v| !v.is_finite()) => *estop_at_s = None,
            Event::RunEnd { final_pose, .. }
                if final_pose.is_some_and(|p| !(p.x.is_finite() && p.y.is_finite() && p.heading_deg.is_finite())) =>
            {
                *final_pose = None
            }
            _ => {}
        }
        self
    }
}

/// One line of the flight log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// 0 for the first record of a log, +1 for each record after, across reopenings.
    pub seq: u64,
    /// The injected clock's time (simulated microseconds in the simulator).
    pub t_us: u64,
    pub event: Event,
}
