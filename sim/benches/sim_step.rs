//! Simulation speed: simulated seconds per wall-clock second for one rover
//! driving a circle in the hallway (so it never stalls on a wall), stepped
//! the way the executor steps it, in 10 ms control periods.
//!
//! The target is at least 1000x real time; the figure is printed after the
//! criterion run.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use robot_hal::board::BoardFile;
use robot_hal::capability::{Clock, DifferentialDrive, Odometry};
use robot_sim::Sim;

const SIM_SECONDS_PER_ITER: u64 = 10;

fn rover() -> Option<Sim> {
    let board = BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml")).ok()?;
    let sim = Sim::from_board(&board).ok()?;
    // A circle of 0.9 m radius around (0, 0.9): clear of every wall.
    sim.devices().drive.set_wheel_speeds(0.25, 0.35).ok()?;
    Some(sim)
}

/// Ten simulated seconds of control loop: sleep a period, read odometry.
/// Each run gets a fresh rover, so the battery never runs flat (a flat
/// rover stands still, which would flatter the figure).
fn drive_ten_seconds(sim: &Sim) {
    let clock = sim.clock();
    let mut odo = sim.devices().odometry;
    for _ in 0..SIM_SECONDS_PER_ITER * 100 {
        clock.sleep(Duration::from_millis(10));
        let _ = odo.pose();
    }
}

fn bench(c: &mut Criterion) {
    if rover().is_none() {
        eprintln!("cannot build the simulator from boards/sim-rover.toml");
        return;
    }
    c.bench_function("sim 10 s of driving", |b| {
        b.iter_batched(rover, |sim| sim.map(|s| drive_ten_seconds(&s)), BatchSize::SmallInput)
    });

    let mut driving = Duration::ZERO;
    let mut simulated = Duration::ZERO;
    let mut touched = false;
    while driving < Duration::from_secs(1) {
        let Some(sim) = rover() else { return };
        let started = Instant::now();
        drive_ten_seconds(&sim);
        driving += started.elapsed();
        simulated += sim.now();
        touched |= sim.bumped();
    }
    let ratio = simulated.as_secs_f64() / driving.as_secs_f64();
    println!("simulated seconds per wall second: {ratio:.0}x real time (target >= 1000x)");
    if touched {
        println!("warning: the rover touched a wall during the benchmark");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
