//! What the brain answers for one utterance, in the shape of the spec's
//! `robot plan --json` object (`shared/spec/rover-tools.md`):
//!
//! ```json
//! {"utterance": "drive forward two meters then turn right", "status": "ok",
//!  "program": "drive(distance_m=2); turn(angle_deg=-90)",
//!  "steps": [{"tool": "drive", "args": {"distance_m": 2.0}}, {"tool": "turn", "args": {"angle_deg": -90.0}}],
//!  "confidence": 0.97}
//! ```
//!
//! An unsupported request has an empty program and no steps. When the brain
//! refused without running the model (empty or over-long input) a `reason`
//! key says why; it is absent otherwise, so planned results are exactly the
//! spec's five keys.

use robot_hal::program::{Call, Program};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// Whether the request maps to the board's tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanStatus {
    Ok,
    Unsupported,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Ok => "ok",
            PlanStatus::Unsupported => "unsupported",
        }
    }
}

/// One planned utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanResult {
    pub utterance: String,
    pub status: PlanStatus,
    /// The program (present exactly when `status` is `Ok`).
    pub program: Option<Program>,
    /// Probability of the chosen output sequence, 0..1.
    pub confidence: f64,
    /// Why the request was refused before the model ran.
    pub reason: Option<String>,
}

impl PlanResult {
    pub fn ok(utterance: &str, program: Program, confidence: f64) -> PlanResult {
        PlanResult {
            utterance: utterance.into(),
            status: PlanStatus::Ok,
            program: Some(program),
            confidence,
            reason: None,
        }
    }

    pub fn unsupported(utterance: &str, confidence: f64, reason: Option<String>) -> PlanResult {
        PlanResult { utterance: utterance.into(), status: PlanStatus::Unsupported, program: None, confidence, reason }
    }

    /// The program as the language prints it (`""` when unsupported).
    pub fn program_text(&self) -> String {
        self.program.as_ref().map(Program::to_string).unwrap_or_default()
    }

    /// The calls in order, loops unrolled.
    pub fn steps(&self) -> Vec<Call> {
        self.program.as_ref().and_then(Program::unrolled).unwrap_or_default()
    }

    /// The spec's JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing this type cannot fail: every field is a plain value.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// One step with `tool` before `args`, as the spec writes it.
#[derive(Serialize)]
struct Step<'a> {
    tool: &'a str,
    args: serde_json::Value,
}

impl Serialize for PlanResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = if self.reason.is_some() { 6 } else { 5 };
        let mut st = s.serialize_struct("PlanResult", n)?;
        st.serialize_field("utterance", &self.utterance)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("program", &self.program_text())?;
        let steps = self.steps();
        let steps: Vec<Step<'_>> = steps.iter().map(|c| Step { tool: &c.tool, args: c.args_json() }).collect();
        st.serialize_field("steps", &steps)?;
        // JSON has no NaN: a confidence that is not a number is reported as 0.
        let c = if self.confidence.is_finite() { self.confidence } else { 0.0 };
        st.serialize_field("confidence", &c)?;
        if let Some(r) = &self.reason {
            st.serialize_field("reason", r)?;
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use robot_hal::program::parse;

    use super::*;

    #[test]
    fn serializes_to_the_spec_object() {
        let p = parse("drive(distance_m=2); turn(angle_deg=-90)").unwrap();
        let r = PlanResult::ok("drive forward two meters then turn right", p, 0.97);
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(
            s,
            r#"{"utterance":"drive forward two meters then turn right","status":"ok","program":"drive(distance_m=2); turn(angle_deg=-90)","steps":[{"tool":"drive","args":{"distance_m":2.0}},{"tool":"turn","args":{"angle_deg":-90.0}}],"confidence":0.97}"#
        );
    }

    #[test]
    fn unsupported_has_no_steps_and_may_say_why() {
        let r = PlanResult::unsupported("fly to the moon", 0.9, None);
        let v = r.to_json();
        assert_eq!(v["status"], "unsupported");
        assert_eq!(v["program"], "");
        assert_eq!(v["steps"], serde_json::json!([]));
        assert!(v.get("reason").is_none());
        let r = PlanResult::unsupported("", f64::NAN, Some("empty".into()));
        let v = r.to_json();
        assert_eq!(v["reason"], "empty");
        assert_eq!(v["confidence"], 0.0);
    }
}
