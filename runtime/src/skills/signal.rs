//! `say`, `set_led` and `wait`.

use std::time::Duration;

use robot_hal::program::Call;
use robot_hal::Rgb;
use serde_json::json;

use super::context::{Outcome, SkillCtx, SkillError, StepState};

pub(crate) fn say(ctx: &mut SkillCtx<'_>, call: &Call) -> Result<Outcome, SkillError> {
    let text = call.string("text").unwrap_or_default().trim().to_string();
    ctx.devices.speaker()?.say(&text)?;
    Ok(Outcome::ok(json!({"text": text}), json!({"spoken": true})))
}

pub(crate) fn set_led(ctx: &mut SkillCtx<'_>, call: &Call) -> Result<Outcome, SkillError> {
    let name = call.string("color").unwrap_or("off").trim().to_lowercase();
    let rgb = Rgb::from_name(&name).ok_or_else(|| SkillError::Failed(format!("unknown colour `{name}`")))?;
    ctx.devices.led()?.set_color(rgb)?;
    Ok(Outcome::ok(json!({"color": name}), json!({"rgb": [rgb.r, rgb.g, rgb.b]})))
}

pub(crate) fn wait(ctx: &mut SkillCtx<'_>, call: &Call, state: &mut StepState) -> Result<Outcome, SkillError> {
    let secs = call.number("seconds").unwrap_or(1.0).max(0.0);
    let start = ctx.clock.now();
    // A wait is still inside the control loop so a stop or a rule breach
    // ends it at once.
    let end = start + Duration::from_secs_f64(secs - state.done_so_far);
    while ctx.clock.now() < end {
        ctx.tick(false)?;
    }
    state.done_so_far = secs;
    let waited = (ctx.clock.now() - start).as_secs_f64();
    Ok(Outcome::ok(json!({"seconds": secs}), json!({"seconds": (waited * 1000.0).round() / 1000.0})))
}
