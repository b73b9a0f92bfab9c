//! Dead-reckoning a plan before it runs: where each step will leave the
//! robot, and whether any point on the way leaves the geofence.
//!
//! Steps are recognised by the catalogue's argument conventions, not tool
//! names: a moving tool with `distance_m` drives straight along the
//! heading, one with `angle_deg` turns in place, one with `place` follows
//! the route to that place, and the `dock` skill goes to the place `dock`.
//! A `remember_place` step names the predicted pose, so a later `go_to`
//! in the same plan can use it. Other moving tools (`find`, `pick_up`)
//! have no predictable path: the running monitor guards them.

use std::collections::BTreeMap;

use robot_hal::program::Call;
use robot_hal::tools::ToolRegistry;
use robot_hal::{wrap_deg, Pose};

use super::geofence::Geofence;
use super::places::PlaceLookup;
use super::rejection::{Problem, RejectionKind};
use crate::places::normalise;

/// Drive segments are checked against the geofence at this spacing.
pub const SAMPLE_SPACING_M: f64 = 0.1;

/// Bound on samples per segment, so an absurd distance cannot stall the check.
const MAX_SAMPLES: f64 = 1.0e6;

struct Walker<'a> {
    fence: Option<&'a Geofence>,
    /// The first exit is reported; later points of a plan that already left
    /// are not news.
    left_fence: bool,
    problems: &'a mut Vec<Problem>,
}

impl Walker<'_> {
    fn segment(&mut self, from: Pose, to: Pose, step: usize, tool: &str) {
        let Some(fence) = self.fence else { return };
        if self.left_fence {
            return;
        }
        let n = (from.distance_to(&to) / SAMPLE_SPACING_M).ceil().clamp(1.0, MAX_SAMPLES) as u32;
        for k in 0..=n {
            let t = f64::from(k) / f64::from(n);
            let (x, y) = (from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t);
            if !fence.contains(x, y) {
                self.left_fence = true;
                self.problems.push(Problem {
                    kind: RejectionKind::OutsideGeofence,
                    step: Some(step),
                    message: format!(
                        "step {} ({tool}): the predicted path leaves the geofence at ({x:.2}, {y:.2})",
                        step + 1
                    ),
                });
                return;
            }
        }
    }
}

/// The predicted pose before the first step and after each step
/// (`path[i + 1]` follows step `i`); geofence exits and unknown places are
/// added to `problems`.
pub(super) fn predict(
    calls: &[Call],
    registry: &ToolRegistry,
    start: Pose,
    places: &dyn PlaceLookup,
    fence: Option<&Geofence>,
    problems: &mut Vec<Problem>,
) -> Vec<Pose> {
    let mut w = Walker { fence, left_fence: false, problems };
    let mut remembered: BTreeMap<String, Pose> = BTreeMap::new();
    let mut pose = start;
    // After an unknown place the pose is unknown: later points are not checked.
    let mut lost = false;
    let mut path = Vec::with_capacity(calls.len() + 1);
    path.push(pose);
    for (i, call) in calls.iter().enumerate() {
        let Some(spec) = registry.get(&call.tool) else {
            path.push(pose);
            continue;
        };
        if spec.skill_name() == "remember_place" {
            if let Some(name) = call.string("name") {
                remembered.insert(normalise(name), pose);
            }
        }
        if !spec.risk.moves() {
            path.push(pose);
            continue;
        }
        if let Some(d) = call.number("distance_m") {
            let h = pose.heading_deg.to_radians();
            let end = Pose { x: pose.x + d * h.cos(), y: pose.y + d * h.sin(), ..pose };
            if !lost {
                w.segment(pose, end, i, &call.tool);
            }
            pose = end;
        }
        if let Some(a) = call.number("angle_deg") {
            pose.heading_deg = wrap_deg(pose.heading_deg + a);
        }
        let place = call.string("place").or((spec.skill_name() == "dock").then_some("dock"));
        if let Some(name) = place {
            let route = match remembered.get(&normalise(name)) {
                Some(p) => Some((vec![*p], Some(p.heading_deg))),
                None => places.route(pose, name).map(|r| (r, places.place_heading(name))),
            };
            match route {
                None => {
                    lost = true;
                    let mut known = places.known_places();
                    known.extend(remembered.keys().cloned());
                    let known =
                        if known.is_empty() { String::new() } else { format!(" (known: {})", known.join(", ")) };
                    w.problems.push(Problem {
                        kind: RejectionKind::UnknownPlace,
                        step: Some(i),
                        message: format!("step {} ({}): unknown place `{name}`{known}", i + 1, call.tool),
                    });
                }
                Some((points, heading)) if !lost => {
                    let mut at = pose;
                    for p in points {
                        w.segment(at, p, i, &call.tool);
                        // Each leg is driven facing its end point.
                        let h = if at.distance_to(&p) > 1e-9 {
                            (p.y - at.y).atan2(p.x - at.x).to_degrees()
                        } else {
                            at.heading_deg
                        };
                        at = Pose { x: p.x, y: p.y, heading_deg: h };
                    }
                    pose = Pose { heading_deg: heading.unwrap_or(at.heading_deg), ..at };
                }
                Some(_) => {}
            }
        }
        path.push(pose);
    }
    path
}
