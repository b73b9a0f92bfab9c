//! The gripper takes only what is close and in front, carries it, and
//! drops it in front when it opens.

mod common;

use robot_hal::capability::{Gripper, ObjectDetector};
use robot_hal::{GripperPosition, Pose};
use robot_sim::Sim;

use common::{sim, wheels_for};

const BLOCK: (f64, f64) = (3.0, 1.9);

/// Put the rover `dist` from the yellow block, at `bearing` degrees off
/// facing it.
fn place(s: &Sim, dist: f64, bearing: f64) {
    let (x, y) = (BLOCK.0 - dist, BLOCK.1);
    if let Err(e) = s.teleport(Pose::new(x, y, -bearing)) {
        panic!("teleport: {e}");
    }
}

#[test]
fn too_far_holds_nothing() {
    let (s, mut d) = sim(1);
    place(&s, 1.0, 0.0);
    assert!(d.gripper.close().is_ok());
    let st = d.gripper.state().ok();
    assert_eq!(st.map(|g| (g.position, g.holding)), Some((GripperPosition::Closed, false)));
    assert_eq!(s.holding(), None);
}

#[test]
fn beside_holds_nothing() {
    let (s, mut d) = sim(1);
    place(&s, 0.25, 60.0);
    assert!(d.gripper.close().is_ok());
    assert_eq!(s.holding(), None);
}

#[test]
fn close_and_in_front_is_picked_carried_and_dropped() {
    let (s, mut d) = sim(1);
    place(&s, 0.25, 10.0);
    assert!(d.gripper.close().is_ok());
    assert_eq!(s.holding().as_deref(), Some("yellow block"));
    assert_eq!(d.gripper.state().map(|g| g.holding).ok(), Some(true));
    // Held objects are not seen.
    let seen = d.detector.detect().unwrap_or_default();
    assert!(seen.iter().all(|x| x.label != "yellow block"));

    // Back up 1 m: the block comes along.
    wheels_for(&s, &mut d, -0.25, -0.25, 4.0);
    let block = s.objects().into_iter().find(|o| o.label == "yellow block");
    let Some(block) = block else { panic!("no yellow block") };
    assert!(block.held);
    assert!(block.x < BLOCK.0 - 0.8, "block at x = {}", block.x);

    assert!(d.gripper.open().is_ok());
    assert_eq!(s.holding(), None);
    let seen = d.detector.detect().unwrap_or_default();
    let Some(hit) = seen.iter().find(|x| x.label == "yellow block") else {
        panic!("dropped block not in view: {seen:?}")
    };
    assert!(hit.distance_m < 0.35 && hit.bearing_deg.abs() < 1.0, "{hit:?}");
}
