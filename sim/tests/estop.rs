//! The kill-switch line, the latches, and the determinism barrier.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use robot_hal::capability::{Clock, DifferentialDrive, Gripper, InputPin, SafeStop, WaitForEdge};
use robot_hal::{Error, ErrorKind};
use robot_sim::{Sim, SimEstopLine};

use common::sim;

/// A minimal stand-in for the runtime's line monitor: on a low line,
/// force every actuator safe from this thread.
fn monitor(
    mut line: SimEstopLine,
    stops: Vec<Arc<dyn SafeStop>>,
    quit: Arc<AtomicBool>,
) -> JoinHandle<Option<Instant>> {
    std::thread::spawn(move || {
        while !quit.load(Ordering::Relaxed) {
            if line.is_low().unwrap_or(true) {
                for s in &stops {
                    let _ = s.force_safe();
                }
                return Some(Instant::now());
            }
            let _ = line.wait_for_edge(Duration::from_millis(50));
        }
        None
    })
}

fn run_with_estop_at_one_second() -> (Sim, robot_sim::SimDevices, Option<Instant>) {
    let (s, mut d) = sim(9);
    let stops = s.safe_stops();
    assert_eq!(stops.iter().map(|s| s.name().to_string()).collect::<Vec<_>>(), ["drive", "gripper"]);
    let line = std::mem::replace(&mut d.estop_line, s.devices().estop_line);
    let quit = Arc::new(AtomicBool::new(false));
    let m = monitor(line, stops, quit.clone());
    s.schedule_estop(Duration::from_secs(1));
    assert!(d.drive.set_wheel_speeds(0.3, 0.3).is_ok());
    for _ in 0..200 {
        s.clock().sleep(Duration::from_millis(10));
    }
    quit.store(true, Ordering::Relaxed);
    let safe_at = m.join().ok().flatten();
    (s, d, safe_at)
}

#[test]
fn scheduled_estop_latches_the_drive() {
    let (s, mut d, safe_at) = run_with_estop_at_one_second();
    assert!(s.estop_pressed());
    assert_eq!(d.estop_line.is_high().ok(), Some(false));
    let (Some(low), Some(safe)) = (s.line_low_at(), safe_at) else { panic!("line never went low or never safe") };
    assert!(safe >= low);
    assert!(s.faults().is_empty(), "{:?}", s.faults());
    // Moved for exactly one second of 0.3 m/s, then not at all.
    let x = s.truth().x;
    assert!((x - 0.3).abs() < 1e-6, "x = {x}");
    let e = d.drive.set_wheel_speeds(0.1, 0.1).err().map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::Refused));
    // Stopping a stopped drive is fine; the gripper is frozen.
    assert!(d.drive.stop().is_ok());
    assert_eq!(d.gripper.close().err().map(|e| e.kind()), Some(ErrorKind::Refused));
}

#[test]
fn estop_runs_are_deterministic() {
    let (a, _, _) = run_with_estop_at_one_second();
    let (b, _, _) = run_with_estop_at_one_second();
    assert_eq!(a.path(), b.path());
    assert_eq!(a.odometry_pose(), b.odometry_pose());
}

#[test]
fn rearm_accepts_commands_again() {
    let (s, mut d) = sim(1);
    let stops = s.safe_stops();
    s.press_estop();
    for st in &stops {
        assert!(st.force_safe().is_ok());
        assert!(st.is_safe());
    }
    assert_eq!(d.drive.set_wheel_speeds(0.2, 0.2).err().map(|e| e.kind()), Some(ErrorKind::Refused));
    s.release_estop();
    for st in &stops {
        st.rearm();
    }
    assert!(d.drive.set_wheel_speeds(0.2, 0.2).is_ok());
    assert!(d.gripper.close().is_ok());
}

#[test]
fn unanswered_line_gives_up_and_records_a_fault() {
    let (s, mut d) = sim(1);
    let _stops = s.safe_stops();
    s.schedule_estop(Duration::from_millis(100));
    assert!(d.drive.set_wheel_speeds(0.3, 0.3).is_ok());
    let started = Instant::now();
    s.clock().sleep(Duration::from_millis(200));
    assert!(started.elapsed() >= robot_sim::BARRIER_TIMEOUT);
    assert_eq!(s.faults().len(), 1, "{:?}", s.faults());
}

#[test]
fn edge_wakes_a_waiting_reader() {
    let (s, mut d) = sim(1);
    assert_eq!(d.estop_line.is_high().ok(), Some(true));
    let waiter = std::thread::spawn(move || {
        let t = Instant::now();
        let edge = d.estop_line.wait_for_edge(Duration::from_secs(10)).unwrap_or(false);
        (edge, t.elapsed(), d.estop_line.is_low().unwrap_or(false))
    });
    std::thread::sleep(Duration::from_millis(20));
    s.press_estop();
    let Ok((edge, waited, low)) = waiter.join() else { panic!("waiter panicked") };
    assert!(edge && low);
    assert!(waited < Duration::from_secs(5));
}
