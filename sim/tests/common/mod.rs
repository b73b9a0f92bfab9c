//! Helpers shared by the simulator's integration tests: the reference
//! board, and open-loop driving on the simulated clock.

#![allow(dead_code)]

use std::time::Duration;

use robot_hal::board::BoardFile;
use robot_hal::capability::{Clock, DifferentialDrive};
use robot_sim::{Sim, SimDevices};

pub fn board() -> BoardFile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml");
    match BoardFile::load(path) {
        Ok(b) => b,
        Err(e) => panic!("cannot load {path}: {e}"),
    }
}

pub fn sim(seed: u64) -> (Sim, SimDevices) {
    let sim = match Sim::with_seed(&board(), seed) {
        Ok(s) => s,
        Err(e) => panic!("cannot build the sim: {e}"),
    };
    let dev = sim.devices();
    (sim, dev)
}

/// Command the wheels for `secs` of simulated time, then stop.
pub fn wheels_for(sim: &Sim, dev: &mut SimDevices, left: f64, right: f64, secs: f64) {
    if let Err(e) = dev.drive.set_wheel_speeds(left, right) {
        panic!("set_wheel_speeds({left}, {right}): {e}");
    }
    sim.clock().sleep(Duration::from_secs_f64(secs));
    if let Err(e) = dev.drive.stop() {
        panic!("stop: {e}");
    }
}

/// Smallest difference between two headings, degrees.
pub fn heading_diff(a: f64, b: f64) -> f64 {
    robot_hal::wrap_deg(a - b).abs()
}
