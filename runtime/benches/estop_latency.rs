//! Kill-switch latency: from the line going low to every actuator commanded
//! safe, while the executor is mid-step and another thread keeps a core busy.
//!
//! A distribution matters here, not a mean, so this is a plain benchmark
//! binary (`cargo bench -p robot-runtime --bench estop_latency`) that runs
//! many trials and prints percentiles. `ESTOP_TRIALS` sets the count
//! (default 10000).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use robot_hal::board::{BoardFile, Level};
use robot_hal::program;
use robot_runtime::executor::YesToAll;
use robot_runtime::recorder::Recorder;
use robot_runtime::safety::OperatorReset;
use robot_runtime::session::{SessionSpec, SimSession};

fn main() {
    let trials: usize = std::env::var("ESTOP_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml");
    let mut board = BoardFile::load(path).expect("board");
    // Trials reset the latch thousands of times; the release debounce is
    // not what is measured.
    board.kill_switch.debounce_ms = 0;
    let spec = SessionSpec { board_path: path.into(), seed: 1, level: Some(Level::L4), yes: true, estop_at_s: None };
    let mut session = SimSession::start(board, &spec, Recorder::memory()).expect("session");
    // Real-time pacing keeps the executor inside a drive step (sleeping in
    // its control loop) for most of the wall time, as on a robot.
    session.sim.set_pacing(Some(1.0));
    let sim = session.sim.clone();
    let latch = session.executor.latch.clone();
    let stop = Arc::new(AtomicBool::new(false));

    let executor = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let p = program::parse("drive(distance_m=0.4); drive(distance_m=-0.4)").unwrap();
            let mut steps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if session.executor.latch.is_engaged() {
                    std::thread::sleep(Duration::from_micros(200));
                    continue;
                }
                session.run("bench", &p, &mut YesToAll);
                steps += 1;
            }
            steps
        })
    };
    let busy = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut x = 0u64;
            while !stop.load(Ordering::Relaxed) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                std::hint::black_box(x);
            }
        })
    };

    let mut lat = Vec::with_capacity(trials);
    let mut failures = 0;
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..trials {
        // Vary the phase against the executor's 10 ms control period.
        std::thread::sleep(Duration::from_micros(500 + (i as u64 * 7919) % 2500));
        sim.press_estop();
        let t0 = Instant::now();
        while latch.all_safe_at().is_none() && t0.elapsed() < Duration::from_secs(1) {
            std::hint::spin_loop();
        }
        match (sim.line_low_at(), latch.all_safe_at()) {
            (Some(line), Some(safe)) => lat.push(safe.saturating_duration_since(line)),
            _ => failures += 1,
        }
        sim.release_estop();
        let t1 = Instant::now();
        while latch.reset(OperatorReset { operator: "bench".into() }).is_err() && t1.elapsed() < Duration::from_secs(1)
        {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let runs = executor.join().unwrap();
    busy.join().unwrap();

    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "estop latency over {} trials (programs the executor started: {runs}, failed trials: {failures}): \
         p50 {:?}  p90 {:?}  p99 {:?}  p99.9 {:?}  max {:?}",
        lat.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.999),
        lat.last().unwrap()
    );
    let p99 = pct(0.99);
    println!("target p99 <= 1 ms: {}", if p99 <= Duration::from_millis(1) { "met" } else { "MISSED" });
}
