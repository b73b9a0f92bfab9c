//! The kill-switch: mid-drive stop, latched refusal, operator reset.

use std::time::Duration;

use robot_hal::board::Level;
use robot_integration_tests::{run, session, session_with};
use robot_runtime::executor::{RunStatus, StepStatus};
use robot_runtime::recorder::Recorder;
use robot_runtime::safety::OperatorReset;

#[test]
fn estop_mid_drive_stops_and_refuses_motion_until_reset() {
    // 0.3 m/s cruise: at 2 s the rover is about 0.5 m into a 3 m drive.
    let mut s = session_with(Level::L4, 1, Some(2.0), Recorder::memory());
    let r = run(&mut s, "drive(distance_m=3); say(text=\"done\")");
    assert_eq!(r.status, RunStatus::Estopped, "{r:?}");
    assert_eq!(r.steps[0].status, StepStatus::Aborted);
    assert_eq!(r.steps[1].status, StepStatus::Skipped);
    assert!(r.estop_latency_us.is_some(), "latency was measured");
    let stopped_at = s.sim.truth();
    assert!(stopped_at.x > 0.3 && stopped_at.x < 1.0, "stopped mid-drive: {stopped_at:?}");

    // Latched: a new motion program is refused and nothing moves.
    let again = run(&mut s, "drive(distance_m=1)");
    assert_eq!(again.status, RunStatus::Estopped);
    assert!(s.sim.truth().distance_to(&stopped_at) < 1e-3);
    // Time passing does not move it either (wheels are commanded safe).
    run(&mut s, "wait(seconds=2)");
    assert!(s.sim.truth().distance_to(&stopped_at) < 1e-3);

    // A reset is refused while the line is still pressed ...
    assert!(s.executor.latch.reset(OperatorReset { operator: "test".into() }).is_err());
    // ... and accepted once it was released for the debounce time.
    s.sim.release_estop();
    std::thread::sleep(Duration::from_millis(s.executor.board.kill_switch.debounce_ms + 30));
    s.executor.latch.reset(OperatorReset { operator: "test".into() }).expect("reset after release");
    // Reset never restarts motion by itself.
    assert!(s.sim.truth().distance_to(&stopped_at) < 1e-3);
    let after = run(&mut s, "drive(distance_m=0.5)");
    assert_eq!(after.status, RunStatus::Done, "{after:?}");
}

#[test]
fn software_engage_cannot_be_cleared_by_a_program() {
    let mut s = session(Level::L4);
    s.executor.latch.engage(robot_runtime::safety::Cause::Software);
    for p in ["drive(distance_m=1)", "turn(angle_deg=90)", "gripper(action=open)"] {
        let r = run(&mut s, p);
        assert_eq!(r.status, RunStatus::Estopped, "{p}: {r:?}");
    }
    assert!(s.executor.latch.is_engaged());
    assert_eq!(s.sim.truth().distance_to(&Default::default()), 0.0);
}
