//! `go_to`, `dock` and `remember_place`: roadmap navigation on odometry.

use robot_hal::program::Call;
use robot_hal::{wrap_deg, Pose};
use serde_json::json;

use super::context::{Outcome, SkillCtx, SkillError, StepState};
use super::motion::{drive_straight, rotate_by};

/// Turn to face a point, then drive to it.
fn drive_to(ctx: &mut SkillCtx<'_>, target: Pose) -> Result<(), SkillError> {
    let p = ctx.pose()?;
    let dist = p.distance_to(&target);
    if dist < ctx.board.verify.distance_tolerance_m {
        return Ok(());
    }
    let bearing = (target.y - p.y).atan2(target.x - p.x).to_degrees();
    rotate_by(ctx, wrap_deg(bearing - p.heading_deg))?;
    let start = ctx.pose()?;
    // Re-aim at the exact bearing (the turn stops within tolerance) so the
    // straight segment points at the target.
    let start = Pose { heading_deg: (target.y - start.y).atan2(target.x - start.x).to_degrees(), ..start };
    drive_straight(ctx, start, start.distance_to(&target), *ctx.cruise_speed_mps)?;
    Ok(())
}

fn navigate(ctx: &mut SkillCtx<'_>, place: &str, state: &mut StepState) -> Result<Outcome, SkillError> {
    let Some(target) = ctx.places.get(place).cloned() else {
        return Err(SkillError::Failed(format!("unknown place `{place}` (known: {})", ctx.places.names().join(", "))));
    };
    let here = ctx.pose()?;
    let route = ctx
        .places
        .route(here, &target.name)
        .ok_or_else(|| SkillError::Failed(format!("no route to `{}` on the roadmap", target.name)))?;
    state.goal = Some(target.pose);
    for wp in route {
        drive_to(ctx, wp)?;
    }
    if target.has_heading {
        let h = ctx.pose()?.heading_deg;
        rotate_by(ctx, wrap_deg(target.pose.heading_deg - h))?;
    }
    let end = ctx.pose()?;
    let off = end.distance_to(&target.pose);
    let tol = ctx.board.verify.place_tolerance_m;
    let heading_off = if target.has_heading { wrap_deg(end.heading_deg - target.pose.heading_deg).abs() } else { 0.0 };
    let heading_tol = ctx.board.verify.heading_tolerance_deg;
    Ok(Outcome::check(
        off <= tol && heading_off <= heading_tol,
        json!({"place": target.name, "x": target.pose.x, "y": target.pose.y, "tolerance_m": tol}),
        json!({"x": (end.x * 1000.0).round() / 1000.0, "y": (end.y * 1000.0).round() / 1000.0,
               "heading_deg": (end.heading_deg * 10.0).round() / 10.0, "off_m": (off * 1000.0).round() / 1000.0}),
        format!("ended {off:.2} m from `{}`", target.name),
    ))
}

pub(crate) fn go_to(ctx: &mut SkillCtx<'_>, call: &Call, state: &mut StepState) -> Result<Outcome, SkillError> {
    let place = call.string("place").unwrap_or_default().to_string();
    navigate(ctx, &place, state)
}

pub(crate) fn dock(ctx: &mut SkillCtx<'_>, state: &mut StepState) -> Result<Outcome, SkillError> {
    navigate(ctx, "dock", state)
}

pub(crate) fn remember_place(ctx: &mut SkillCtx<'_>, call: &Call) -> Result<Outcome, SkillError> {
    let name = call.string("name").unwrap_or_default().to_string();
    let pose = ctx.pose()?;
    let t_us = u64::try_from(ctx.clock.now().as_micros()).unwrap_or(u64::MAX);
    let key = ctx
        .places
        .remember(&name, pose, t_us)
        .map_err(|e| SkillError::Failed(format!("cannot remember `{name}`: {e}")))?;
    let stored = ctx.places.get(&key).map(|p| p.pose);
    Ok(Outcome::check(
        stored == Some(pose),
        json!({"name": key, "x": pose.x, "y": pose.y}),
        json!({"stored": stored.is_some()}),
        "place was not stored",
    ))
}
