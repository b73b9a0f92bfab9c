//! Driving and turning: closed loops on odometry.
//!
//! Straight drives hold the start heading and measure progress along it;
//! turns accumulate wrapped heading changes so 360 and 720 degree turns are
//! measured, not aliased to zero. Both slow down near the goal so they stop
//! within the verification tolerance instead of overshooting.

use robot_hal::program::Call;
use robot_hal::{wrap_deg, Pose};
use serde_json::json;

use super::context::{Outcome, SkillCtx, SkillError, StepState};

/// Closest the range sensor may read ahead before a forward drive stops.
pub(crate) const OBSTACLE_STOP_M: f64 = 0.12;

fn round(v: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (v * p).round() / p
}

/// Drive along the heading of `start` until `distance` (signed) is covered,
/// measured from `start`. Returns the distance covered from `start`.
pub(crate) fn drive_straight(
    ctx: &mut SkillCtx<'_>,
    start: Pose,
    distance: f64,
    speed: f64,
) -> Result<f64, SkillError> {
    let tol = ctx.board.verify.distance_tolerance_m;
    let track = ctx.board.drive.track_width_m;
    let max_wheel = ctx.board.drive.max_wheel_speed_mps;
    let (hx, hy) = (start.heading_deg.to_radians().cos(), start.heading_deg.to_radians().sin());
    let dir = distance.signum();
    let result = (|| {
        loop {
            let p = ctx.pose()?;
            let covered = (p.x - start.x) * hx + (p.y - start.y) * hy;
            let remaining = distance - covered;
            if remaining * dir <= tol * 0.2 {
                return Ok(covered);
            }
            if dir > 0.0 {
                if let Some(r) = ctx.devices.range.as_mut() {
                    let ahead = r.distance_m()?;
                    if ahead < OBSTACLE_STOP_M && remaining > ahead {
                        return Err(SkillError::Failed(format!(
                            "obstacle {ahead:.2} m ahead after {covered:.2} m of {distance:.2} m"
                        )));
                    }
                }
            }
            // Proportional slow-down near the goal, never below a creep speed.
            let v = dir * speed.min(remaining.abs() * 2.0 + 0.02);
            let heading_err = wrap_deg(start.heading_deg - p.heading_deg).to_radians();
            let omega = (2.0 * heading_err).clamp(-1.0, 1.0);
            let half = omega * track / 2.0;
            let (l, r) = ((v - half).clamp(-max_wheel, max_wheel), (v + half).clamp(-max_wheel, max_wheel));
            ctx.wheels(l, r)?;
            ctx.tick(true)?;
        }
    })();
    ctx.halt();
    result
}

/// Turn in place by `angle` degrees (left positive). Returns the measured
/// rotation.
pub(crate) fn rotate_by(ctx: &mut SkillCtx<'_>, angle: f64) -> Result<f64, SkillError> {
    let tol = ctx.board.verify.heading_tolerance_deg;
    let track = ctx.board.drive.track_width_m;
    let max_wheel = ctx.board.drive.max_wheel_speed_mps;
    let rate = ctx.board.drive.turn_rate_dps.min(ctx.board.rules.max_turn_rate_dps);
    let mut last = ctx.pose()?.heading_deg;
    let mut turned = 0.0;
    let result = (|| loop {
        let remaining = angle - turned;
        if remaining.abs() <= tol * 0.2 {
            return Ok(turned);
        }
        let w_dps = remaining.signum() * rate.min(remaining.abs() * 3.0 + 2.0);
        let wheel = (w_dps.to_radians() * track / 2.0).clamp(-max_wheel, max_wheel);
        ctx.wheels(-wheel, wheel)?;
        ctx.tick(true)?;
        let h = ctx.pose()?.heading_deg;
        turned += wrap_deg(h - last);
        last = h;
    })();
    ctx.halt();
    result
}

pub(crate) fn drive(ctx: &mut SkillCtx<'_>, call: &Call, state: &mut StepState) -> Result<Outcome, SkillError> {
    let distance = call.number("distance_m").unwrap_or(1.0);
    let speed = call.number("speed_mps").unwrap_or(*ctx.cruise_speed_mps).min(ctx.board.rules.max_speed_mps);
    let start = match state.start {
        Some(s) => s,
        None => {
            let s = ctx.pose()?;
            state.start = Some(s);
            s
        }
    };
    let covered = drive_straight(ctx, start, distance, speed)?;
    let end = ctx.pose()?;
    let drift = wrap_deg(end.heading_deg - start.heading_deg);
    let tol = ctx.board.verify.distance_tolerance_m;
    Ok(Outcome::check(
        (covered - distance).abs() <= tol,
        json!({"distance_m": distance, "tolerance_m": tol}),
        json!({"distance_m": round(covered, 3), "heading_drift_deg": round(drift, 2)}),
        format!("drove {covered:.3} m of {distance:.3} m"),
    ))
}

pub(crate) fn turn(ctx: &mut SkillCtx<'_>, call: &Call, state: &mut StepState) -> Result<Outcome, SkillError> {
    let angle = call.number("angle_deg").unwrap_or(90.0);
    // On a retry, turn only what is left of the original angle.
    let remaining = angle - state.done_so_far;
    let turned = rotate_by(ctx, remaining)?;
    state.done_so_far += turned;
    let total = state.done_so_far;
    let tol = ctx.board.verify.heading_tolerance_deg;
    Ok(Outcome::check(
        (total - angle).abs() <= tol,
        json!({"angle_deg": angle, "tolerance_deg": tol}),
        json!({"angle_deg": round(total, 2)}),
        format!("turned {total:.1} deg of {angle:.1} deg"),
    ))
}

pub(crate) fn stop(ctx: &mut SkillCtx<'_>) -> Result<Outcome, SkillError> {
    ctx.halt();
    let before = ctx.pose()?;
    ctx.tick(false)?;
    ctx.tick(false)?;
    let after = ctx.pose()?;
    let moved = before.distance_to(&after);
    Ok(Outcome::check(
        moved < 0.01,
        json!({"moving": false}),
        json!({"moved_m": round(moved, 4)}),
        "still moving after stop",
    ))
}

pub(crate) fn set_speed(ctx: &mut SkillCtx<'_>, call: &Call) -> Result<Outcome, SkillError> {
    let want = call.number("speed_mps").unwrap_or(ctx.board.drive.default_speed_mps);
    *ctx.cruise_speed_mps = want.min(ctx.board.rules.max_speed_mps);
    let got = *ctx.cruise_speed_mps;
    Ok(Outcome::check(
        (got - want).abs() < 1e-9,
        json!({"speed_mps": want}),
        json!({"speed_mps": got}),
        format!("cruise speed limited to {got} m/s by the board's rules"),
    ))
}
