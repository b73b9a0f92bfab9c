//! Board rules monitored while a program runs, not only checked before.

use robot_hal::board::Level;
use robot_integration_tests::{board, run, session_on};
use robot_runtime::executor::{RunStatus, StepStatus};

#[test]
fn battery_falling_below_the_motion_minimum_stops_a_drive() {
    let mut b = board();
    let sim = b.sim.as_mut().unwrap();
    // 0.3% above the minimum: the preflight accepts, about 1.5 m of driving drains it.
    sim.initial_battery = b.rules.min_battery_for_motion + 0.003;
    sim.battery_drain_per_m = 0.002;
    let mut s = session_on(b, Level::L4);
    let r = run(&mut s, "drive(distance_m=4); say(text=\"arrived\")");
    assert_eq!(r.status, RunStatus::Failed, "{r:?}");
    assert_eq!(r.steps[0].status, StepStatus::Failed);
    assert_eq!(r.steps[1].status, StepStatus::Skipped);
    assert!(r.reason.contains("battery"), "{}", r.reason);
    let x = s.sim.truth().x;
    assert!(x > 0.5 && x < 2.5, "stopped part way: x = {x:.2}");
    // Signals still work with a low battery; motion is refused up front.
    assert_eq!(run(&mut s, "say(text=\"low battery\")").status, RunStatus::Done);
    let again = run(&mut s, "drive(distance_m=0.5)");
    assert_eq!(again.status, RunStatus::Rejected, "{again:?}");
}

#[test]
fn a_failed_step_is_retried_once_then_reported() {
    // Driving at the hallway's north wall (inside the geofence): the range
    // sensor stops the rover short of it, the retry cannot finish either,
    // and the program stops with both attempts reported.
    let mut s = session_on(board(), Level::L4);
    let r = run(&mut s, "turn(angle_deg=90); drive(distance_m=3); say(text=\"never\")");
    assert_eq!(r.status, RunStatus::Failed, "{r:?}");
    let d = &r.steps[1];
    assert_eq!(d.status, StepStatus::Failed);
    assert_eq!(d.attempts, 2, "{d:?}");
    assert_eq!(r.steps[2].status, StepStatus::Skipped);
    assert!(d.message.contains("obstacle"), "{d:?}");
    let y = s.sim.truth().y;
    assert!(y > 1.8 && y < 2.35, "stopped before the wall at y = 2.5: {y:.2}");
}
