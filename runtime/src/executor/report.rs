//! Structured results: the JSON report of `robot exec --json`.

use robot_hal::Pose;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Done,
    Estopped,
    Rejected,
    Failed,
    NeedsConfirmation,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Done => "done",
            RunStatus::Estopped => "estopped",
            RunStatus::Rejected => "rejected",
            RunStatus::Failed => "failed",
            RunStatus::NeedsConfirmation => "needs_confirmation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Done,
    Failed,
    Aborted,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
            StepStatus::Aborted => "aborted",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// One step: what was asked, what was expected, what the sensors observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub tool: String,
    pub args: Json,
    pub status: StepStatus,
    pub expected: Json,
    pub observed: Json,
    pub attempts: u32,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub message: String,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub status: RunStatus,
    pub reason: String,
    pub steps: Vec<StepReport>,
    /// Ground truth in the simulator, the odometry estimate on hardware.
    pub final_pose: Option<Pose>,
    /// Wall-clock time from the kill-switch line change until every
    /// actuator was commanded safe, when the line changed during the run.
    pub estop_latency_us: Option<u64>,
}
