//! The gripper: `gripper`, `pick_up`, `put_down`.

use robot_hal::program::Call;
use robot_hal::GripperPosition;
use serde_json::json;

use super::context::{Outcome, SkillCtx, SkillError, StepState};
use super::motion::{drive_straight, rotate_by};
use super::observe::locate;

/// How far from an object's centre the rover stops to grip it.
const GRIP_STANDOFF_M: f64 = 0.22;

fn set_jaws(ctx: &mut SkillCtx<'_>, close: bool) -> Result<(), SkillError> {
    ctx.latch.check_write()?;
    let g = ctx.devices.gripper()?;
    if close {
        g.close()?
    } else {
        g.open()?
    }
    Ok(())
}

pub(crate) fn gripper(ctx: &mut SkillCtx<'_>, call: &Call) -> Result<Outcome, SkillError> {
    let action = call.string("action").unwrap_or("open").trim().to_lowercase();
    let close = match action.as_str() {
        "close" => true,
        "open" => false,
        other => return Err(SkillError::Failed(format!("unknown gripper action `{other}`"))),
    };
    set_jaws(ctx, close)?;
    let s = ctx.devices.gripper()?.state()?;
    let want = if close { GripperPosition::Closed } else { GripperPosition::Open };
    Ok(Outcome::check(
        s.position == want,
        json!({"position": action}),
        json!({"position": s.position, "holding": s.holding}),
        "the gripper did not reach the position",
    ))
}

pub(crate) fn pick_up(ctx: &mut SkillCtx<'_>, call: &Call, _state: &mut StepState) -> Result<Outcome, SkillError> {
    let object = call.string("object").unwrap_or_default().trim().to_lowercase();
    if ctx.devices.gripper()?.state()?.holding {
        return Err(SkillError::Failed("the gripper already holds something; put it down first".into()));
    }
    let Some(seen) = locate(ctx, &object)? else {
        return Err(SkillError::Failed(format!("`{object}` is not in view (use find first)")));
    };
    set_jaws(ctx, false)?;
    rotate_by(ctx, seen.bearing_deg)?;
    // Look again after facing it: the distance is measured, not assumed.
    let seen = locate(ctx, &object)?.unwrap_or(seen);
    let start = ctx.pose()?;
    let approach = (seen.distance_m - GRIP_STANDOFF_M).max(0.0);
    if approach > ctx.board.rules.max_single_move_m {
        return Err(SkillError::Failed(format!("`{object}` is {:.1} m away, beyond one move", seen.distance_m)));
    }
    if approach > 0.0 {
        let speed = ctx.cruise_speed_mps.min(0.2);
        drive_straight(ctx, start, approach, speed)?;
    }
    set_jaws(ctx, true)?;
    let s = ctx.devices.gripper()?.state()?;
    Ok(Outcome::check(
        s.holding,
        json!({"holding": object}),
        json!({"holding": s.holding, "position": s.position}),
        format!("the gripper closed but holds nothing (was `{object}` within reach?)"),
    ))
}

pub(crate) fn put_down(ctx: &mut SkillCtx<'_>) -> Result<Outcome, SkillError> {
    set_jaws(ctx, false)?;
    let s = ctx.devices.gripper()?.state()?;
    Ok(Outcome::check(
        !s.holding,
        json!({"holding": false}),
        json!({"holding": s.holding, "position": s.position}),
        "still holding after opening",
    ))
}
