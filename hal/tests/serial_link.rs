//! The serial device handles against the simulated co-processor on a pty:
//! commands reach it, sensors read what it simulates.

#![cfg(unix)]

mod serial_common;

use std::time::Duration;

use robot_hal::capability::{
    Battery, DifferentialDrive, Gripper, InputPin, Led, Odometry, RangeSensor, Thermometer, WaitForEdge,
};
use robot_hal::{Error, ErrorKind, GripperPosition, Rgb};
use serial_common::{eventually, fast, pair};

#[test]
fn drive_round_trip_moves_the_odometry() {
    let (link, sim) = pair(fast());
    let mut drive = link.drive(0.16, 0.5);
    let mut odo = link.odometry();
    let start = odo.pose().expect("pose");
    assert_eq!((start.x, start.y, start.heading_deg), (0.0, 0.0, 0.0));

    drive.set_wheel_speeds(0.3, 0.3).expect("drive");
    assert_eq!(sim.snapshot().wheels_mm_s, (300, 300));
    std::thread::sleep(Duration::from_millis(150));
    drive.stop().expect("stop");
    assert_eq!(sim.snapshot().wheels_mm_s, (0, 0));
    let moved = odo.pose().expect("pose");
    assert!(moved.x > 0.02 && moved.x < 0.2, "x = {}", moved.x);
    assert!(moved.y.abs() < 1e-3 && moved.heading_deg.abs() < 0.01, "{moved:?}");

    drive.set_wheel_speeds(-0.1, 0.1).expect("turn");
    std::thread::sleep(Duration::from_millis(100));
    drive.stop().expect("stop");
    let turned = odo.pose().expect("pose");
    assert!(turned.heading_deg > 3.0, "turned left: {turned:?}");
    assert!((turned.x - moved.x).abs() < 1e-3, "turned in place");
}

#[test]
fn too_fast_is_out_of_range_and_never_sent() {
    let (link, sim) = pair(fast());
    let mut drive = link.drive(0.16, 0.5);
    let before = sim.snapshot().wheels_mm_s;
    for (l, r) in [(0.6, 0.0), (0.0, -0.51), (f64::NAN, 0.0), (f64::INFINITY, 0.0)] {
        let err = drive.set_wheel_speeds(l, r).expect_err("over the limit");
        assert_eq!(err.kind(), ErrorKind::OutOfRange, "{l} {r}");
    }
    assert_eq!(sim.snapshot().wheels_mm_s, before);
    assert_eq!(drive.max_wheel_speed_mps(), 0.5);
    assert_eq!(drive.track_width_m(), 0.16);
}

#[test]
fn sensors_report_the_simulated_world() {
    let (link, sim) = pair(fast());
    let mut range = link.range(4.0);
    let d = range.distance_m().expect("range");
    assert!((d - 2.0).abs() < 0.002, "wall at 2 m, got {d}");
    let mut battery = link.battery();
    let b = battery.state().expect("battery");
    assert!(b.charge > 0.99 && (b.voltage_v - 8.4).abs() < 0.01, "{b:?}");
    let mut temp = link.thermometer();
    assert!((temp.celsius().expect("temp") - 25.0).abs() < 0.1);

    let mut led = link.led();
    led.set_color(Rgb::new(1, 2, 3)).expect("led");
    assert_eq!(sim.snapshot().led, Rgb::new(1, 2, 3));

    let mut gripper = link.gripper();
    sim.set_object_present(true);
    gripper.close().expect("close");
    let g = gripper.state().expect("gripper");
    assert_eq!((g.position, g.holding), (GripperPosition::Closed, true));
    gripper.open().expect("open");
    let g = gripper.state().expect("gripper");
    assert_eq!((g.position, g.holding), (GripperPosition::Open, false));
}

#[test]
fn estop_line_follows_the_coprocessor_and_wakes_waiters() {
    let (link, sim) = pair(fast());
    let mut line = link.estop_line(Duration::from_millis(50));
    let mut drive = link.drive(0.16, 0.5);
    assert!(line.is_high().expect("released"));

    let waiter = std::thread::spawn(move || {
        let woke = line.wait_for_edge(Duration::from_secs(2)).expect("wait");
        (woke, line.is_low().expect("level"))
    });
    std::thread::sleep(Duration::from_millis(30));
    sim.set_estop_line_low(true);
    let (woke, low) = waiter.join().expect("waiter");
    assert!(woke && low, "woke {woke}, low {low}");

    // The co-processor latched on the line by itself: motion is refused
    // even though the host latch is not engaged, and rearming is refused
    // while the line is held.
    let err = drive.set_wheel_speeds(0.1, 0.1).expect_err("latched in the MCU");
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(sim.snapshot().state.estopped);

    let mut line = link.estop_line(Duration::from_millis(50));
    assert!(!line.wait_for_edge(Duration::from_millis(40)).expect("wait"), "no edge");
    sim.set_estop_line_low(false);
    assert!(eventually(Duration::from_millis(500), || line.is_high().unwrap_or(false)));
}

#[test]
fn stats_count_frames() {
    let (link, _sim) = pair(fast());
    let mut odo = link.odometry();
    for _ in 0..5 {
        odo.pose().expect("pose");
    }
    let s = link.stats();
    assert!(s.frames_ok >= 5 && s.frames_sent >= 5, "{s:?}");
    assert_eq!((s.crc_errors, s.malformed, s.resyncs, s.timeouts), (0, 0, 0, 0));
}
