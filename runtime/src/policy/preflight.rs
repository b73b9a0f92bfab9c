//! The check before a program starts: source and level, operator link,
//! validation against the board's tools, then every rule on every unrolled
//! step and on the dead-reckoned path. All problems are collected so the
//! reason names every rule the program breaks.

use robot_hal::board::Level;
use robot_hal::program::{Call, Program};
use robot_hal::tools::{RiskClass, ToolRegistry, ValidationErrorKind};
use robot_hal::Pose;

use super::confirm::{decide, Confirmation};
use super::level::Policy;
use super::path::predict;
use super::places::PlaceLookup;
use super::rejection::{Problem, Rejection, RejectionKind};
use super::source::{RunContext, Source};

/// A program the policy accepted, and what it needs to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Preflight {
    pub confirmation: Confirmation,
    /// Predicted pose before the first step and after each step
    /// (`predicted_path[i + 1]` follows step `i`).
    pub predicted_path: Vec<Pose>,
    /// The steps in execution order, loops unrolled.
    pub unrolled: Vec<Call>,
}

fn problem(kind: RejectionKind, step: Option<usize>, message: String) -> Problem {
    Problem { kind, step, message }
}

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

impl Policy {
    /// Check a program before it starts; see the module docs.
    pub fn preflight(
        &self,
        program: &Program,
        registry: &ToolRegistry,
        ctx: &RunContext,
        places: &dyn PlaceLookup,
    ) -> Result<Preflight, Rejection> {
        let mut problems = self.check_context(ctx);

        if let Err(e) = registry.validate(program) {
            let kind = match e.kind {
                ValidationErrorKind::TooManySteps(_) => RejectionKind::TooManySteps,
                _ => RejectionKind::Invalid(Box::new(e.clone())),
            };
            return Err(Rejection::with_last(problems, problem(kind, e.call_index, format!("invalid program: {e}"))));
        }
        let Some(unrolled) = program.unrolled() else {
            let last = problem(RejectionKind::TooManySteps, None, "the program unrolls to too many steps".into());
            return Err(Rejection::with_last(problems, last));
        };
        let rules = &self.rules;
        if unrolled.len() > rules.max_steps {
            problems.push(problem(
                RejectionKind::TooManySteps,
                None,
                format!(
                    "the program unrolls to {} steps, more than this board's limit of {}",
                    unrolled.len(),
                    rules.max_steps
                ),
            ));
        }

        let mut risks = Vec::with_capacity(unrolled.len());
        let mut moving = Vec::new();
        for (i, call) in unrolled.iter().enumerate() {
            let risk = registry.get(&call.tool).map(|s| s.risk).unwrap_or(RiskClass::Irreversible);
            risks.push(risk);
            if risk.moves() {
                moving.push(i);
            }
            let at = format!("step {} ({})", i + 1, call.tool);
            if rules.forbidden_tools.contains(&call.tool) {
                problems.push(problem(
                    RejectionKind::ForbiddenTool,
                    Some(i),
                    format!("{at}: this board forbids `{}`", call.tool),
                ));
            }
            if let Some(v) = call.number("speed_mps") {
                if v > rules.max_speed_mps {
                    problems.push(problem(
                        RejectionKind::OverSpeed,
                        Some(i),
                        format!("{at}: speed {v} m/s is above this board's maximum of {} m/s", rules.max_speed_mps),
                    ));
                }
            }
            if let Some(d) = call.number("distance_m") {
                if d.abs() > rules.max_single_move_m {
                    problems.push(problem(
                        RejectionKind::OverSingleMove,
                        Some(i),
                        format!("{at}: {} m is over the single-move limit of {} m", d.abs(), rules.max_single_move_m),
                    ));
                }
            }
        }
        if !moving.is_empty() && (ctx.battery.is_nan() || ctx.battery < rules.min_battery_for_motion) {
            let steps: Vec<String> = moving.iter().take(5).map(|i| (i + 1).to_string()).collect();
            problems.push(problem(
                RejectionKind::BatteryLow,
                moving.first().copied(),
                format!(
                    "battery at {} is below the {} needed for motion (step {}{})",
                    pct(ctx.battery),
                    pct(rules.min_battery_for_motion),
                    steps.join(", "),
                    if moving.len() > 5 { ", ..." } else { "" }
                ),
            ));
        }

        let predicted_path =
            predict(&unrolled, registry, ctx.start_pose, places, self.geofence.as_ref(), &mut problems);

        if let Some(rejection) = Rejection::from_problems(problems) {
            return Err(rejection);
        }
        let confirmation = decide(ctx.level, &ctx.source, &risks, self.confidence_threshold);
        Ok(Preflight { confirmation, predicted_path, unrolled })
    }

    /// Problems with who asks and under which conditions, before looking
    /// at the program itself.
    fn check_context(&self, ctx: &RunContext) -> Vec<Problem> {
        let mut problems = Vec::new();
        if ctx.level > self.cap() {
            problems.push(problem(
                RejectionKind::NotAllowedAtLevel,
                None,
                format!("autonomy level {} is above this board's cap {}", ctx.level, self.cap()),
            ));
        }
        if ctx.level == Level::L0 && ctx.source != Source::Operator {
            problems.push(problem(
                RejectionKind::NotAllowedAtLevel,
                None,
                format!("at L0 only programs written by the operator run; a {} plan is refused", ctx.source.as_str()),
            ));
        }
        if ctx.level <= Level::L3 && !ctx.operator_link {
            problems.push(problem(
                RejectionKind::OperatorLinkRequired,
                None,
                format!("at {} an operator link is required and there is none", ctx.level),
            ));
        }
        problems
    }
}
