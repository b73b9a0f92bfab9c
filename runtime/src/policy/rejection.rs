//! Why the policy refused a program before it started.
//!
//! A rejection lists every problem found, not just the first, so an
//! operator (or the brain's retry loop) sees at once that a 1000 m drive is
//! both over the single-move limit and out of the geofence.

use robot_hal::tools::ValidationError;

/// What kind of rule a program broke.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The program does not check against the board's tools.
    Invalid(Box<ValidationError>),
    /// The board's rules forbid this tool.
    ForbiddenTool,
    /// A speed argument is above `rules.max_speed_mps`.
    OverSpeed,
    /// A drive is longer than `rules.max_single_move_m`.
    OverSingleMove,
    /// The predicted path leaves `rules.geofence`.
    OutsideGeofence,
    /// The battery is below `rules.min_battery_for_motion` and the program moves.
    BatteryLow,
    /// `go_to`/`dock` names a place the robot does not know.
    UnknownPlace,
    /// The program unrolls to more than `rules.max_steps` steps.
    TooManySteps,
    /// The program's source is not allowed at this level, or the level is
    /// above the board's cap.
    NotAllowedAtLevel,
    /// This level needs a live operator link and there is none.
    OperatorLinkRequired,
}

/// A long program can break one rule in every step; the reason names this
/// many problems and counts the rest (all are in [`Rejection::problems`]).
const MAX_REASONS: usize = 8;

/// One problem, with the unrolled step it concerns (0-based) if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: RejectionKind,
    pub step: Option<usize>,
    pub message: String,
}

/// A program the policy refused to start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
#[non_exhaustive]
pub struct Rejection {
    /// The kind of the first problem.
    pub kind: RejectionKind,
    /// Every problem's message, joined by `; `.
    pub reason: String,
    /// Every problem found, in the order checked.
    pub problems: Vec<Problem>,
}

impl Rejection {
    /// A rejection from the problems found, or `None` when there are none.
    pub(crate) fn from_problems(problems: Vec<Problem>) -> Option<Rejection> {
        let kind = problems.first()?.kind.clone();
        Some(Rejection::build(kind, problems))
    }

    /// A rejection from earlier problems and one more that ends the check.
    pub(crate) fn with_last(mut problems: Vec<Problem>, last: Problem) -> Rejection {
        let kind = problems.first().unwrap_or(&last).kind.clone();
        problems.push(last);
        Rejection::build(kind, problems)
    }

    fn build(kind: RejectionKind, problems: Vec<Problem>) -> Rejection {
        let mut parts: Vec<&str> = problems.iter().take(MAX_REASONS).map(|p| p.message.as_str()).collect();
        let more = problems.len().saturating_sub(MAX_REASONS);
        let tail = format!("and {more} more problem{}", if more == 1 { "" } else { "s" });
        if more > 0 {
            parts.push(&tail);
        }
        let reason = parts.join("; ");
        Rejection { kind, reason, problems }
    }

    /// Whether any problem is of this kind (compared without payload for
    /// [`RejectionKind::Invalid`]).
    pub fn has(&self, kind: &RejectionKind) -> bool {
        self.problems.iter().any(|p| std::mem::discriminant(&p.kind) == std::mem::discriminant(kind))
    }
}
