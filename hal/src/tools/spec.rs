//! Tool and argument specifications.

use serde::{Deserialize, Serialize};

/// How much harm a tool can do, which decides what the policy lets run
/// without confirmation. Ordered from least to most risky.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskClass {
    /// Reads sensors; changes nothing.
    Observe,
    /// Visible or audible output only (LED, speech).
    Signal,
    /// Moves the robot.
    Motion,
    /// Moves things in the world (gripper).
    Manipulate,
    /// Changes the robot's configuration or memory.
    Configure,
    /// Cannot be undone.
    Irreversible,
}

impl RiskClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskClass::Observe => "observe",
            RiskClass::Signal => "signal",
            RiskClass::Motion => "motion",
            RiskClass::Manipulate => "manipulate",
            RiskClass::Configure => "configure",
            RiskClass::Irreversible => "irreversible",
        }
    }

    /// Whether this class makes actuators move (and so is refused after the
    /// kill-switch latched and checked against battery and geofence rules).
    pub fn moves(self) -> bool {
        matches!(self, RiskClass::Motion | RiskClass::Manipulate)
    }
}

/// The type of a tool argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ArgType {
    /// A real number in the given unit, within `[min, max]`.
    Number {
        #[serde(default)]
        unit: Option<String>,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    /// Free text (a name or words to speak), at most `max_len` characters.
    String {
        #[serde(default = "default_max_len")]
        max_len: usize,
    },
    /// One of a fixed set of lower-case words.
    Enum { values: Vec<String> },
}

fn default_max_len() -> usize {
    200
}

/// One argument of a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArgSpec {
    pub name: String,
    #[serde(flatten)]
    pub ty: ArgType,
    /// Required arguments must be present in every call.
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub description: String,
}

fn yes() -> bool {
    true
}

/// One tool of the robot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub risk: RiskClass,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    /// The built-in skill that executes this tool (defaults to the tool's name).
    #[serde(default)]
    pub skill: Option<String>,
    /// Example phrasings, used by the brain's training data generator.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Longest time one call may take before the executor aborts it, seconds.
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

impl ToolSpec {
    pub fn arg(&self, name: &str) -> Option<&ArgSpec> {
        self.args.iter().find(|a| a.name == name)
    }

    pub fn skill_name(&self) -> &str {
        self.skill.as_deref().unwrap_or(&self.name)
    }
}
