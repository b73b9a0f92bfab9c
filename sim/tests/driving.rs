//! Kinematics, limits, walls and the battery.

mod common;

use proptest::prelude::*;
use robot_hal::capability::{Battery, DifferentialDrive};
use robot_hal::{Error, ErrorKind};
use robot_sim::geometry::Vec2;
use robot_sim::map::house;
use robot_sim::ROVER_RADIUS_M;

use common::{heading_diff, sim, wheels_for};

#[test]
fn one_metre_forward() {
    let (s, mut d) = sim(1);
    wheels_for(&s, &mut d, 0.3, 0.3, 1.0 / 0.3);
    let t = s.truth();
    assert!((t.x - 1.0).abs() < 0.005, "x = {}", t.x);
    assert!(t.y.abs() < 1e-9 && heading_diff(t.heading_deg, 0.0) < 1e-9);
    let o = s.odometry_pose();
    assert!((o.x - 1.0).abs() < 0.02, "odometry x = {}", o.x);
    assert!(!s.bumped());
}

#[test]
fn turning_in_place() {
    let (s, mut d) = sim(1);
    // 60 deg/s on a 0.30 m track: wheel speed = omega * track / 2.
    let wheel = 60f64.to_radians() * 0.30 / 2.0;
    wheels_for(&s, &mut d, -wheel, wheel, 1.5);
    let t = s.truth();
    assert!(heading_diff(t.heading_deg, 90.0) < 0.5, "heading {}", t.heading_deg);
    assert!(t.x.hypot(t.y) < 1e-9);
    wheels_for(&s, &mut d, wheel, -wheel, 3.0);
    assert!(heading_diff(s.truth().heading_deg, -90.0) < 1.0);
}

#[test]
fn wall_stops_the_rover() {
    let (s, mut d) = sim(1);
    // Backwards: the west wall is 1.5 m behind the dock.
    wheels_for(&s, &mut d, -0.3, -0.3, 10.0);
    let t = s.truth();
    assert!(s.bumped());
    assert!((t.x - (-1.5 + ROVER_RADIUS_M)).abs() < 0.002, "x = {}", t.x);
    assert!(house().clearance(Vec2::new(t.x, t.y)) >= ROVER_RADIUS_M);
    // Driving away from the wall works again.
    wheels_for(&s, &mut d, 0.3, 0.3, 1.0);
    assert!(s.truth().x > t.x + 0.25);
    assert!(!s.bumper_pressed());
}

#[test]
fn wheel_speed_limit_is_enforced() {
    let (_s, mut d) = sim(1);
    let e = d.drive.set_wheel_speeds(0.61, 0.0).err().map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::OutOfRange));
    let e = d.drive.set_wheel_speeds(0.0, f64::NAN).err().map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::OutOfRange));
    assert!(d.drive.set_wheel_speeds(-0.6, 0.6).is_ok());
    assert_eq!(d.drive.max_wheel_speed_mps(), 0.6);
    assert_eq!(d.drive.track_width_m(), 0.3);
}

#[test]
fn battery_drains_with_distance() {
    let (s, mut d) = sim(1);
    let before = d.battery.state().map(|b| b.charge).unwrap_or(f64::NAN);
    assert!((before - 0.9).abs() < 1e-12);
    wheels_for(&s, &mut d, 0.5, 0.5, 4.0);
    let after = s.battery();
    // 2 m at 0.002 per metre, plus a little idle drain.
    assert!((before - after - 0.004).abs() < 1e-4, "drained {}", before - after);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Whatever the wheels are told, the rover never enters a wall.
    #[test]
    fn never_inside_a_wall(cmds in proptest::collection::vec((-0.6f64..0.6, -0.6f64..0.6, 0.1f64..4.0), 1..12)) {
        let (s, mut d) = sim(3);
        let map = house();
        for (l, r, t) in cmds {
            wheels_for(&s, &mut d, l, r, t);
            let p = s.truth();
            prop_assert!(map.clearance(Vec2::new(p.x, p.y)) >= ROVER_RADIUS_M - 1e-9);
        }
    }
}
