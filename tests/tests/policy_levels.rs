//! Autonomy levels and board rules, end to end on the simulated rover.

use robot_hal::board::Level;
use robot_integration_tests::{run, run_with, session};
use robot_runtime::executor::{NoOperator, RunStatus, StepStatus};

#[test]
fn l1_needs_confirmation_without_an_operator() {
    let mut s = session(Level::L1);
    let r = run_with(&mut s, "drive(distance_m=1)", &mut NoOperator);
    assert_eq!(r.status, RunStatus::NeedsConfirmation, "{r:?}");
    assert!(r.steps.iter().all(|st| st.status == StepStatus::Skipped));
    assert_eq!(s.sim.truth().distance_to(&Default::default()), 0.0, "nothing moved");
}

#[test]
fn l4_runs_without_confirmation() {
    let mut s = session(Level::L4);
    let r = run_with(&mut s, "drive(distance_m=1)", &mut NoOperator);
    assert_eq!(r.status, RunStatus::Done, "{r:?}");
}

#[test]
fn l2_runs_signals_freely_but_asks_for_motion() {
    let mut s = session(Level::L2);
    let r = run_with(&mut s, "say(text=\"hello\"); set_led(color=green)", &mut NoOperator);
    assert_eq!(r.status, RunStatus::Done, "{r:?}");
    let r = run_with(&mut s, "say(text=\"hello\"); drive(distance_m=1)", &mut NoOperator);
    assert_eq!(r.status, RunStatus::NeedsConfirmation, "{r:?}");
}

#[test]
fn absurd_drive_is_rejected_before_motion() {
    let mut s = session(Level::L4);
    let r = run(&mut s, "drive(distance_m=1000)");
    assert_eq!(r.status, RunStatus::Rejected, "{r:?}");
    assert!(r.reason.contains("single"), "names the single-move limit: {}", r.reason);
    assert!(r.reason.contains("geofence"), "names the geofence: {}", r.reason);
    assert_eq!(s.sim.truth().distance_to(&Default::default()), 0.0);
}

#[test]
fn geofence_violation_is_rejected_before_motion() {
    let mut s = session(Level::L4);
    // Each move is within the single-move limit; together they leave the house.
    let r = run(&mut s, "turn(angle_deg=90); drive(distance_m=7.5)");
    assert_eq!(r.status, RunStatus::Rejected, "{r:?}");
    assert!(r.reason.contains("geofence"), "{}", r.reason);
    assert!(r.steps.iter().all(|st| st.status == StepStatus::Skipped));
    assert_eq!(s.sim.truth(), Default::default());
}

#[test]
fn level_cannot_exceed_the_board_cap() {
    let mut s = session(Level::L2);
    assert!(s.executor.policy.set_level_by_operator(Level::L5).is_err());
    assert_eq!(s.executor.policy.level(), Level::L2);
}

#[test]
fn malformed_and_invalid_programs_are_rejected() {
    let mut s = session(Level::L4);
    for p in [
        "fly(height_m=3)",
        "drive(distance_m=\"far\")",
        "set_led(color=pink)",
        "drive(speed_mps=0.3, distance_m=1, distance_m=2)",
    ] {
        let r = run(&mut s, p);
        assert_eq!(r.status, RunStatus::Rejected, "{p}: {r:?}");
        assert!(!r.reason.is_empty());
    }
    assert_eq!(s.sim.truth(), Default::default());
}
