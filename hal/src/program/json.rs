//! The JSON step list of the spec: `[{"tool": "drive", "args": {"distance_m": 2.0}}]`.
//!
//! `robot plan --json` reports a program as this flat list (loops unrolled),
//! flight logs record it, and evaluation sets compare against it. Reading it
//! back is strict and total: any JSON value gives either calls whose names
//! are identifiers of the language (so the program prints and parses back)
//! or a [`JsonError`] that names the step, never a panic. Argument order
//! within a step follows `serde_json`'s object order (sorted by name), which
//! the spec's comparison ignores.

use serde_json::{Map, Number, Value as Json};

use super::ast::{Arg, Call, Program, Value, MAX_UNROLLED_STEPS};
use super::parse::{is_ident, is_tool_name};

/// Why a JSON step list could not be read. Step numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    #[error("the steps must be a JSON array, got {got}")]
    NotAnArray { got: &'static str },
    #[error("too many steps: {count} (at most {max})")]
    TooManySteps { count: usize, max: usize },
    #[error("step {step}: must be an object with `tool` and `args`, got {got}")]
    StepNotAnObject { step: usize, got: &'static str },
    #[error("step {step}: `tool` is missing")]
    MissingTool { step: usize },
    #[error("step {step}: `tool` must be a string, got {got}")]
    ToolNotAString { step: usize, got: &'static str },
    #[error("step {step}: `{name}` is not a tool name (an identifier other than `repeat`)")]
    BadToolName { step: usize, name: String },
    #[error("step {step}: unknown key `{key}` (a step has only `tool` and `args`)")]
    UnknownKey { step: usize, key: String },
    #[error("step {step}: `args` must be an object, got {got}")]
    ArgsNotAnObject { step: usize, got: &'static str },
    #[error("step {step}: argument name `{name}` is not an identifier (letters, digits and `_`)")]
    BadArgName { step: usize, name: String },
    #[error("step {step}: argument `{arg}` must be a number or a string, got {got}")]
    BadArgValue { step: usize, arg: String, got: &'static str },
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn value_json(v: &Value) -> Json {
    match v {
        // JSON has no NaN or infinity; such a value cannot have passed
        // validation, and `null` keeps the report well-formed.
        Value::Number(n) => Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
    }
}

impl Call {
    /// The arguments as a JSON object (numbers as floats), for step reports.
    /// A repeated argument name keeps its last value.
    pub fn args_json(&self) -> Json {
        let map: Map<String, Json> = self.args.iter().map(|a| (a.name.clone(), value_json(&a.value))).collect();
        Json::Object(map)
    }

    /// This call as one step: `{"tool": ..., "args": {...}}`.
    pub fn step_json(&self) -> Json {
        let mut step = Map::new();
        step.insert("tool".into(), Json::String(self.tool.clone()));
        step.insert("args".into(), self.args_json());
        Json::Object(step)
    }
}

impl Program {
    /// The unrolled step list, or `None` if unrolling exceeds
    /// [`MAX_UNROLLED_STEPS`].
    pub fn to_json(&self) -> Option<Json> {
        self.unrolled().map(|calls| steps_to_json(&calls))
    }
}

/// Calls as the spec's step list.
pub fn steps_to_json(calls: &[Call]) -> Json {
    Json::Array(calls.iter().map(Call::step_json).collect())
}

/// Read a step list. `args` may be left out (or `null`) for a tool without
/// arguments; anything else unexpected is an error.
pub fn steps_from_json(v: &Json) -> Result<Vec<Call>, JsonError> {
    let steps = v.as_array().ok_or(JsonError::NotAnArray { got: kind(v) })?;
    if steps.len() > MAX_UNROLLED_STEPS {
        return Err(JsonError::TooManySteps { count: steps.len(), max: MAX_UNROLLED_STEPS });
    }
    steps.iter().enumerate().map(|(i, s)| step_from_json(i + 1, s)).collect()
}

fn step_from_json(step: usize, v: &Json) -> Result<Call, JsonError> {
    let obj = v.as_object().ok_or(JsonError::StepNotAnObject { step, got: kind(v) })?;
    if let Some(key) = obj.keys().find(|k| *k != "tool" && *k != "args") {
        return Err(JsonError::UnknownKey { step, key: key.clone() });
    }
    let tool = match obj.get("tool") {
        None => return Err(JsonError::MissingTool { step }),
        Some(Json::String(s)) => s,
        Some(other) => return Err(JsonError::ToolNotAString { step, got: kind(other) }),
    };
    if !is_tool_name(tool) {
        return Err(JsonError::BadToolName { step, name: tool.clone() });
    }
    let mut call = Call::new(tool.clone());
    let args = match obj.get("args") {
        None | Some(Json::Null) => return Ok(call),
        Some(Json::Object(m)) => m,
        Some(other) => return Err(JsonError::ArgsNotAnObject { step, got: kind(other) }),
    };
    for (name, value) in args {
        if !is_ident(name) {
            return Err(JsonError::BadArgName { step, name: name.clone() });
        }
        let value = match value {
            // Every JSON number has an f64 reading (huge integers round).
            Json::Number(n) => n.as_f64().map(Value::Number),
            Json::String(s) => Some(Value::Str(s.clone())),
            _ => None,
        }
        .ok_or_else(|| JsonError::BadArgValue { step, arg: name.clone(), got: kind(value) })?;
        call.args.push(Arg { name: name.clone(), value });
    }
    Ok(call)
}
