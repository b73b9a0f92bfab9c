//! The runtime driving a rover through the serial co-processor link,
//! against the simulated microcontroller on a pseudo-terminal pair: steps
//! are verified against the co-processor's odometry, the link survives
//! garbage on the wire, and a vanished co-processor fails a step clearly
//! instead of hanging.
#![cfg(unix)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use robot_hal::board::BoardFile;
use robot_hal::capability::{Clock, MonotonicClock};
use robot_hal::program;
use robot_hal::serial::mcu_sim::{McuSim, McuSimConfig};
use robot_hal::serial::LinkTimeouts;
use robot_runtime::backends::serial::bind;
use robot_runtime::executor::{Executor, RunStatus, StepStatus, YesToAll};
use robot_runtime::policy::Source;
use robot_runtime::recorder::Recorder;
use robot_runtime::safety::{Latch, LineMonitor};

fn rover() -> (Executor, McuSim, LineMonitor) {
    let board = BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/serial-rover.toml")).unwrap();
    let cfg = McuSimConfig { track_width_m: board.drive.track_width_m, wall_x_m: Some(3.0), ..McuSimConfig::default() };
    let (link, mcu) = McuSim::pair(cfg, LinkTimeouts::from_config(board.serial.as_ref().unwrap())).unwrap();
    let bound = bind(&board, &link);
    let latch = Latch::new(bound.safe_stops, Duration::from_millis(board.kill_switch.debounce_ms));
    let monitor = LineMonitor::spawn(bound.estop_line, true, latch.clone(), Duration::from_millis(5)).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
    let mut ex = Executor::new(board, bound.devices, clock, latch, Recorder::memory());
    ex.policy.set_level_by_operator(robot_hal::board::Level::L3).unwrap();
    (ex, mcu, monitor)
}

fn run(ex: &mut Executor, text: &str) -> robot_runtime::executor::RunReport {
    ex.run(&program::parse(text).unwrap(), Source::Operator, &mut YesToAll)
}

#[test]
fn drives_and_turns_verified_by_coprocessor_odometry() {
    let (mut ex, mcu, _m) = rover();
    let r = run(&mut ex, "drive(distance_m=0.3); turn(angle_deg=90); set_led(color=blue)");
    assert_eq!(r.status, RunStatus::Done, "{r:?}");
    let s = mcu.snapshot();
    assert!((s.state.x_mm as f64 - 300.0).abs() < 50.0, "{s:?}");
    assert!((s.state.heading_cdeg as f64 / 100.0 - 90.0).abs() < 5.0, "{s:?}");
}

#[test]
fn survives_garbage_on_the_wire_mid_program() {
    let (mut ex, mcu, _m) = rover();
    let junk: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(37) % 251) as u8).collect();
    let t = std::thread::spawn(move || {
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(150));
            mcu.inject_garbage(&junk);
        }
        mcu
    });
    let r = run(&mut ex, "drive(distance_m=0.25); drive(distance_m=-0.25)");
    let _mcu = t.join().unwrap();
    assert_eq!(r.status, RunStatus::Done, "{r:?}");
}

#[test]
fn a_vanished_coprocessor_fails_the_step_without_hanging() {
    let (mut ex, mcu, _m) = rover();
    mcu.disconnect();
    let t0 = Instant::now();
    let r = run(&mut ex, "drive(distance_m=0.5)");
    assert!(t0.elapsed() < Duration::from_secs(30), "the step ended");
    assert!(matches!(r.status, RunStatus::Failed | RunStatus::Rejected | RunStatus::Estopped), "{r:?}");
    assert!(r.steps.iter().all(|s| s.status != StepStatus::Done));
}
