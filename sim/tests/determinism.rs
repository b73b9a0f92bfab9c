//! The same seed and the same commands give the same run, bit for bit; a
//! different seed changes only the odometry noise.

mod common;

use std::time::Duration;

use robot_hal::capability::{Clock, Gripper, Led, Odometry, Speaker};
use robot_hal::Rgb;
use robot_sim::Sim;

use common::{sim, wheels_for};

fn scripted(seed: u64) -> Sim {
    let (s, mut d) = sim(seed);
    let _ = d.speaker.say("starting");
    wheels_for(&s, &mut d, 0.3, 0.3, 2.0);
    wheels_for(&s, &mut d, -0.157, 0.157, 1.5);
    let _ = d.led.set_color(Rgb::new(255, 0, 0));
    wheels_for(&s, &mut d, 0.25, 0.35, 3.3);
    let _ = d.gripper.close();
    s.clock().sleep(Duration::from_millis(123));
    let _ = d.speaker.say("done");
    let _ = d.odometry.pose();
    s
}

#[test]
fn same_seed_same_run() {
    let (a, b) = (scripted(42), scripted(42));
    assert_eq!(a.path(), b.path());
    assert!(a.path().len() > 50, "trail too short: {}", a.path().len());
    assert_eq!(a.truth(), b.truth());
    assert_eq!(a.odometry_pose(), b.odometry_pose());
    assert_eq!(a.speech(), b.speech());
    assert_eq!(a.battery(), b.battery());
    assert_eq!(a.render_svg(), b.render_svg());
    let said: Vec<_> = a.speech().into_iter().map(|(_, t)| t).collect();
    assert_eq!(said, ["starting", "done"]);
    assert_eq!(a.speech()[1].0, a.now());
}

#[test]
fn different_seed_changes_odometry_not_truth() {
    let (a, b) = (scripted(1), scripted(2));
    assert_eq!(a.truth(), b.truth());
    assert_ne!(a.odometry_pose(), b.odometry_pose());
    // Noise is small but real: the estimate is not the truth.
    let (t, o) = (a.truth(), a.odometry_pose());
    let err = t.distance_to(&o);
    assert!(err > 0.0 && err < 0.05, "odometry error {err} m");
}
