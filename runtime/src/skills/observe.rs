//! Perception skills: `scan`, `find`, `take_photo`, `read`.

use robot_hal::program::Call;
use robot_hal::Detection;
use serde_json::json;

use super::context::{Outcome, SkillCtx, SkillError, StepState};
use super::motion::rotate_by;

/// Whether a detection's label is the object asked for: `ball` matches
/// `red ball`, `the red ball` matches `red ball`.
pub(crate) fn label_matches(label: &str, wanted: &str) -> bool {
    let wanted = crate::places::normalise(wanted);
    let label = label.to_lowercase();
    !wanted.is_empty() && (label == wanted || label.ends_with(&format!(" {wanted}")) || wanted.ends_with(&label))
}

/// The nearest detection of `object` in the current view.
pub(crate) fn locate(ctx: &mut SkillCtx<'_>, object: &str) -> Result<Option<Detection>, SkillError> {
    let seen = ctx.devices.detector()?.detect()?;
    Ok(seen.into_iter().find(|d| label_matches(&d.label, object)))
}

fn detections_json(ds: &[Detection]) -> serde_json::Value {
    json!(ds
        .iter()
        .map(|d| json!({"label": d.label, "bearing_deg": (d.bearing_deg * 10.0).round() / 10.0,
                         "distance_m": (d.distance_m * 100.0).round() / 100.0}))
        .collect::<Vec<_>>())
}

/// Report what is in view and, with a memory store attached, record it in
/// world coordinates. Sensing is the step's purpose: a memory write that
/// fails is reported in the observation, not as a failed step.
pub(crate) fn scan(ctx: &mut SkillCtx<'_>) -> Result<Outcome, SkillError> {
    let seen = ctx.devices.detector()?.detect()?;
    let mut observed = json!({"objects": detections_json(&seen)});
    if let Some(store) = ctx.places.store().cloned() {
        let pose = ctx.pose()?;
        let t_us = u64::try_from(ctx.clock.now().as_micros()).unwrap_or(u64::MAX);
        observed["recorded"] = match store.record_objects(&seen, pose, t_us) {
            Ok(rows) => json!(rows.len()),
            Err(e) => json!({"error": e.to_string()}),
        };
    }
    Ok(Outcome::ok(json!({"objects": "reported"}), observed))
}

pub(crate) fn find(ctx: &mut SkillCtx<'_>, call: &Call, state: &mut StepState) -> Result<Outcome, SkillError> {
    let object = call.string("object").unwrap_or_default().trim().to_lowercase();
    let fov = ctx.devices.detector()?.half_fov_deg();
    // Sweep left in steps a little smaller than the field of view, one full
    // circle at most (state.done_so_far keeps the sweep across a retry).
    let step = (fov * 2.0 * 0.8).clamp(10.0, 90.0);
    loop {
        if let Some(d) = locate(ctx, &object)? {
            rotate_by(ctx, d.bearing_deg)?;
            let d = locate(ctx, &object)?.unwrap_or(d);
            let tol = ctx.board.verify.heading_tolerance_deg.max(5.0);
            return Ok(Outcome::check(
                d.bearing_deg.abs() <= tol,
                json!({"object": object, "in_view": true}),
                json!({"object": d.label, "bearing_deg": (d.bearing_deg * 10.0).round() / 10.0,
                       "distance_m": (d.distance_m * 100.0).round() / 100.0}),
                "the object is in view but not ahead",
            ));
        }
        if state.done_so_far >= 360.0 {
            return Ok(Outcome::check(
                false,
                json!({"object": object, "in_view": true}),
                json!({"in_view": false, "swept_deg": state.done_so_far}),
                format!("`{object}` not found after a full turn"),
            ));
        }
        let turned = rotate_by(ctx, step)?;
        state.done_so_far += turned;
    }
}

pub(crate) fn take_photo(ctx: &mut SkillCtx<'_>) -> Result<Outcome, SkillError> {
    let frame = ctx.devices.camera()?.capture()?;
    let (w, h) = (frame.width, frame.height);
    let ok = frame.rgb.len() == (w as usize) * (h as usize) * 3 && w > 0 && h > 0;
    ctx.photos.push(frame);
    Ok(Outcome::check(
        ok,
        json!({"photo": true}),
        json!({"width": w, "height": h, "index": ctx.photos.len() - 1}),
        "the camera returned a malformed frame",
    ))
}

pub(crate) fn read(ctx: &mut SkillCtx<'_>, call: &Call) -> Result<Outcome, SkillError> {
    let sensor = call.string("sensor").unwrap_or_default().trim().to_lowercase();
    let value = match sensor.as_str() {
        "battery" => {
            let b = ctx.devices.battery()?.state()?;
            json!({"charge": (b.charge * 1000.0).round() / 1000.0, "voltage_v": (b.voltage_v * 100.0).round() / 100.0})
        }
        "distance" => json!({"distance_m": (ctx.devices.range()?.distance_m()? * 1000.0).round() / 1000.0}),
        "temperature" => json!({"celsius": (ctx.devices.thermometer()?.celsius()? * 10.0).round() / 10.0}),
        "position" => {
            let p = ctx.pose()?;
            json!({"x": (p.x * 1000.0).round() / 1000.0, "y": (p.y * 1000.0).round() / 1000.0})
        }
        "heading" => json!({"heading_deg": (ctx.pose()?.heading_deg * 10.0).round() / 10.0}),
        other => return Err(SkillError::Failed(format!("unknown sensor `{other}`"))),
    };
    Ok(Outcome::ok(json!({"sensor": sensor}), value))
}
