//! The host colour-blob detector run on the simulator's camera agrees with
//! the simulator's ground-truth detector: same objects, bearings within a
//! few degrees, distances within a quarter.

mod common;

use robot_hal::capability::ObjectDetector;
use robot_hal::host::{BlobClass, ColorBlobDetector, FieldOfView};
use robot_hal::{Detection, Pose};
use robot_sim::{Sim, SimCamera, FRAME_HEIGHT, FRAME_WIDTH, HALF_FOV_DEG};

/// One class per object of the house, from the map the sim is built on:
/// the colour it is painted and its height (it is drawn as tall as wide).
fn classes() -> Vec<BlobClass> {
    robot_sim::map::house()
        .objects
        .iter()
        .map(|o| BlobClass { label: o.label.to_string(), rgb: o.color, height_m: 2.0 * o.radius })
        .collect()
}

fn detector(sim: &Sim) -> ColorBlobDetector<SimCamera> {
    let fov = FieldOfView::from_horizontal(2.0 * HALF_FOV_DEG, FRAME_WIDTH, FRAME_HEIGHT);
    match ColorBlobDetector::new(sim.devices().camera, fov, classes()) {
        Ok(d) => d,
        Err(e) => panic!("detector: {e}"),
    }
}

fn place(sim: &Sim, pose: Pose) {
    if let Err(e) = sim.teleport(pose) {
        panic!("teleport to {pose:?}: {e}");
    }
}

fn detect(d: &mut impl ObjectDetector<Error = impl std::fmt::Display>) -> Vec<Detection> {
    match d.detect() {
        Ok(v) => v,
        Err(e) => panic!("detect: {e}"),
    }
}

fn find<'a>(seen: &'a [Detection], label: &str) -> Option<&'a Detection> {
    seen.iter().find(|d| d.label == label)
}

/// Heading from the dock straight at the yellow block at (3.0, 1.9).
fn at_block() -> f64 {
    1.9f64.atan2(3.0).to_degrees()
}

#[test]
fn finds_the_yellow_block_from_the_dock() {
    let (sim, mut dev) = common::sim(1);
    let mut blobs = detector(&sim);
    assert_eq!(blobs.half_fov_deg(), dev.detector.half_fov_deg());
    for offset in [0.0, 20.0, -15.0] {
        place(&sim, Pose::new(0.0, 0.0, at_block() - offset));
        let truth = detect(&mut dev.detector);
        let seen = detect(&mut blobs);
        let Some(t) = find(&truth, "yellow block") else { panic!("truth does not see it: {truth:?}") };
        let Some(b) = find(&seen, "yellow block") else { panic!("blob detector missed it at {offset}: {seen:?}") };
        assert!((b.bearing_deg - t.bearing_deg).abs() < 3.0, "bearing {} vs {}", b.bearing_deg, t.bearing_deg);
        assert!(
            (b.distance_m - t.distance_m).abs() < 0.25 * t.distance_m,
            "distance {} vs {}",
            b.distance_m,
            t.distance_m
        );
    }
}

#[test]
fn facing_away_finds_nothing_yellow() {
    let (sim, mut dev) = common::sim(1);
    let mut blobs = detector(&sim);
    place(&sim, Pose::new(0.0, 0.0, at_block()));
    assert!(find(&detect(&mut blobs), "yellow block").is_some());
    place(&sim, Pose::new(0.0, 0.0, at_block() + 180.0));
    let seen = detect(&mut blobs);
    assert!(find(&seen, "yellow block").is_none(), "{seen:?}");
    assert!(find(&detect(&mut dev.detector), "yellow block").is_none());
}

/// Where an object really is relative to the rover: bearing (left
/// positive) and distance. Unlike the sim's detector this has no range
/// cap, since the camera sees as far as the house goes.
fn truth_of(sim: &Sim, label: &str) -> Option<(f64, f64)> {
    let me = sim.truth();
    let o = sim.objects().into_iter().find(|o| o.label == label)?;
    let bearing = robot_hal::wrap_deg((o.y - me.y).atan2(o.x - me.x).to_degrees() - me.heading_deg);
    Some((bearing, (o.x - me.x).hypot(o.y - me.y)))
}

#[test]
fn agrees_with_the_truth_around_the_house() {
    let (sim, _dev) = common::sim(1);
    let mut blobs = detector(&sim);
    let spots =
        [(0.0, 0.0), (5.5, 0.65), (1.5, 4.75), (6.0, 4.75), (1.5, -3.1), (9.25, -3.1), (9.75, 4.75), (10.8, 0.65)];
    let mut labels = std::collections::BTreeSet::new();
    for (x, y) in spots {
        for k in 0..12 {
            let heading = f64::from(k) * 30.0;
            place(&sim, Pose::new(x, y, heading));
            for b in detect(&mut blobs) {
                // Every blob is a real object where it really is: nothing
                // is imagined in the walls, floor or doors.
                let Some((bearing, distance)) = truth_of(&sim, &b.label) else { panic!("unknown {b:?}") };
                let at = format!("from ({x}, {y}) facing {heading}: {b:?}, truth {bearing:.1} deg {distance:.2} m");
                assert!((b.bearing_deg - bearing).abs() < 3.0, "{at}");
                assert!((b.distance_m - distance).abs() < 0.25 * distance, "{at}");
                labels.insert(b.label);
            }
        }
    }
    // Each object is seen from at least one of the places.
    assert_eq!(labels.len(), classes().len(), "only saw {labels:?}");
}
