//! Same seed and same commands give a byte-identical flight log, and a
//! flight log replays to itself.

use robot_hal::board::Level;
use robot_integration_tests::{run, session_with};
use robot_runtime::recorder::{read_log, Recorder};
use robot_runtime::session::replay;

const PROGRAM: &str = "drive(distance_m=1); turn(angle_deg=45); go_to(place=\"kitchen\"); find(object=\"blue cup\"); \
                       take_photo(); say(text=\"found it\"); dock()";

fn log_of(seed: u64, estop: Option<f64>) -> (String, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flight.jsonl");
    {
        let mut s = session_with(Level::L4, seed, estop, Recorder::create(&path).unwrap());
        run(&mut s, PROGRAM);
        run(&mut s, "repeat(2) { drive(distance_m=0.5); turn(angle_deg=180) }");
    }
    (std::fs::read_to_string(&path).unwrap(), path, dir)
}

#[test]
fn same_seed_same_log() {
    let (a, _, _d1) = log_of(7, None);
    let (b, _, _d2) = log_of(7, None);
    assert!(a.lines().count() > 20, "the log records the run");
    assert_eq!(a, b);
}

#[test]
fn same_seed_same_log_with_an_estop() {
    let (a, _, _d1) = log_of(3, Some(4.0));
    let (b, _, _d2) = log_of(3, Some(4.0));
    assert!(a.contains("latch_engaged"), "the estop is in the log");
    assert_eq!(a, b);
}

#[test]
fn different_seed_different_odometry() {
    let (a, _, _d1) = log_of(1, None);
    let (b, _, _d2) = log_of(2, None);
    assert_ne!(a, b);
}

#[test]
fn a_log_replays_identically() {
    let (_, path, _d) = log_of(5, None);
    let contents = read_log(&path).unwrap();
    let out = replay(&contents.records, None).unwrap();
    assert_eq!(out.first_difference, None, "{:?}", out.transcript);
    assert_eq!(out.replayed.len(), contents.records.len());
}
