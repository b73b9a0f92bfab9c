//! Which confirmations a checked program needs, by autonomy level, risk
//! class of its steps and the brain's confidence. Risk comes from each
//! tool's declared [`RiskClass`], never from its name.

use robot_hal::board::Level;
use robot_hal::tools::RiskClass;

use super::source::Source;

/// The operator confirmations a program needs before and while it runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Confirmation {
    /// Runs without asking.
    NotNeeded,
    /// The whole plan is confirmed once before it starts.
    PlanOnce { reason: String },
    /// Every step is confirmed before it runs.
    EachStep,
    /// These steps (indices into the unrolled step list) are confirmed
    /// before they run.
    Steps(Vec<usize>),
}

/// Classes that run without confirmation at L2: they move nothing and
/// change nothing.
fn low_risk(r: RiskClass) -> bool {
    matches!(r, RiskClass::Observe | RiskClass::Signal)
}

/// The confirmation rule of `docs/autonomy.md`. `risks` is the risk class
/// of each unrolled step.
pub(super) fn decide(level: Level, source: &Source, risks: &[RiskClass], threshold: f64) -> Confirmation {
    if level <= Level::L1 {
        return Confirmation::EachStep;
    }
    let mut reasons = Vec::new();
    if level == Level::L2 {
        let mut classes: Vec<&str> = Vec::new();
        for r in risks.iter().copied().filter(|r| !low_risk(*r)) {
            if !classes.contains(&r.as_str()) {
                classes.push(r.as_str());
            }
        }
        if !classes.is_empty() {
            reasons.push(format!("at L2 a plan with {} steps is confirmed once", classes.join(", ")));
        }
    }
    if let Some(c) = source.low_confidence(threshold) {
        reasons.push(format!("the brain's confidence {c:.2} is below the threshold {threshold:.2}"));
    }
    // While an operator is present (L2, L3) a step that cannot be undone is
    // confirmed on its own; at L4/L5 a board that must not do such things
    // lists the tool in `rules.forbidden_tools`.
    let irreversible: Vec<usize> = if level <= Level::L3 {
        risks.iter().enumerate().filter(|(_, r)| **r == RiskClass::Irreversible).map(|(i, _)| i).collect()
    } else {
        Vec::new()
    };
    match (reasons.is_empty(), irreversible.is_empty()) {
        (true, true) => Confirmation::NotNeeded,
        (true, false) => Confirmation::Steps(irreversible),
        (false, true) => Confirmation::PlanOnce { reason: reasons.join("; ") },
        // Confirming every step covers both the plan and its irreversible steps.
        (false, false) => Confirmation::EachStep,
    }
}
