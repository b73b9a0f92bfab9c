//! A 1 m square returns within 5 cm of where it started (simulator truth).

use robot_hal::board::Level;
use robot_integration_tests::{run, session};
use robot_runtime::executor::{RunStatus, StepStatus};

#[test]
fn one_metre_square_closes_within_5_cm() {
    let mut s = session(Level::L4);
    let start = s.sim.truth();
    let r = run(&mut s, "repeat(4) { drive(distance_m=1); turn(angle_deg=90) }");
    assert_eq!(r.status, RunStatus::Done, "{r:?}");
    assert_eq!(r.steps.len(), 8);
    assert!(r.steps.iter().all(|st| st.status == StepStatus::Done));
    let end = r.final_pose.unwrap();
    let off = end.distance_to(&start);
    assert!(off < 0.05, "square ended {off:.3} m from its start: {end:?}");
    // It did move: the path went a metre out.
    let far = s.sim.path().iter().map(|p| p.distance_to(&start)).fold(0.0, f64::max);
    assert!(far > 1.3, "the path never left the start ({far:.2} m)");
}

#[test]
fn each_step_reports_expected_and_observed() {
    let mut s = session(Level::L4);
    let r = run(&mut s, "drive(distance_m=1.5); turn(angle_deg=-90)");
    assert_eq!(r.status, RunStatus::Done, "{r:?}");
    let d = &r.steps[0];
    assert_eq!(d.expected["distance_m"], 1.5);
    let observed = d.observed["distance_m"].as_f64().unwrap();
    assert!((observed - 1.5).abs() <= 0.05);
    let t = &r.steps[1];
    assert!((t.observed["angle_deg"].as_f64().unwrap() + 90.0).abs() <= 3.0);
    let truth = r.final_pose.unwrap();
    assert!((truth.x - 1.5).abs() < 0.05 && truth.y.abs() < 0.05, "{truth:?}");
    assert!((truth.heading_deg + 90.0).abs() < 3.0, "{truth:?}");
}

#[test]
fn go_to_reaches_the_kitchen_and_dock_returns() {
    let mut s = session(Level::L4);
    let r = run(&mut s, "go_to(place=\"kitchen\"); say(text=\"hi\"); dock()");
    assert_eq!(r.status, RunStatus::Done, "{r:?}");
    assert!(s.sim.speech().iter().any(|(_, t)| t == "hi"));
    let end = r.final_pose.unwrap();
    assert!(end.x.hypot(end.y) < 0.3, "not back at the dock: {end:?}");
}

#[test]
fn unknown_place_fails_clearly_before_moving() {
    let mut s = session(Level::L4);
    let r = run(&mut s, "go_to(place=\"attic\")");
    assert_ne!(r.status, RunStatus::Done);
    assert!(r.reason.contains("attic"), "{}", r.reason);
    assert!(s.sim.truth().distance_to(&Default::default()) < 1e-9);
}
