//! Skills: the built-in handlers a board binds its tools to.
//!
//! A tool in the board file names a skill (by default its own name). A
//! skill drives the devices in a closed loop on the injected clock and
//! returns an [`Outcome`] that says what was expected and what the sensors
//! observed; the executor decides from it whether the step is verified,
//! retried or failed. Every control tick checks the kill-switch latch, the
//! step deadline and the board's running rules, so no skill can hang or run
//! past a stop.

mod context;
mod manipulate;
mod motion;
mod navigate;
mod observe;
mod signal;

pub use context::{Outcome, SkillCtx, SkillError, StepState};

use robot_hal::program::Call;

/// Names of the skills this runtime provides.
pub const SKILLS: &[&str] = &[
    "drive",
    "turn",
    "stop",
    "go_to",
    "dock",
    "set_speed",
    "wait",
    "say",
    "set_led",
    "gripper",
    "scan",
    "find",
    "pick_up",
    "put_down",
    "take_photo",
    "read",
    "remember_place",
];

/// Run one attempt of a skill.
pub fn run(skill: &str, ctx: &mut SkillCtx<'_>, call: &Call, state: &mut StepState) -> Result<Outcome, SkillError> {
    match skill {
        "drive" => motion::drive(ctx, call, state),
        "turn" => motion::turn(ctx, call, state),
        "stop" => motion::stop(ctx),
        "go_to" => navigate::go_to(ctx, call, state),
        "dock" => navigate::dock(ctx, state),
        "set_speed" => motion::set_speed(ctx, call),
        "wait" => signal::wait(ctx, call, state),
        "say" => signal::say(ctx, call),
        "set_led" => signal::set_led(ctx, call),
        "gripper" => manipulate::gripper(ctx, call),
        "scan" => observe::scan(ctx),
        "find" => observe::find(ctx, call, state),
        "pick_up" => manipulate::pick_up(ctx, call, state),
        "put_down" => manipulate::put_down(ctx),
        "take_photo" => observe::take_photo(ctx),
        "read" => observe::read(ctx, call),
        "remember_place" => navigate::remember_place(ctx, call),
        other => Err(SkillError::NoSkill(other.to_string())),
    }
}
