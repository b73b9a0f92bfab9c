//! Remote kill latency: from `robot host kill` starting to sign to every
//! actuator of the simulated robot commanded safe, through a real Mosquitto
//! on loopback, while the executor drives in real time.
//!
//! Each trial does what `robot host kill ROBOT --key FILE` does after its
//! process has started: take the next counter (the file replaced under its
//! lock; forced to disk after the publish), sign, connect to the broker,
//! publish at QoS 1 retained and wait for the acknowledgement; the robot's link hands the bytes to the real
//! [`RemoteKillSink`], which verifies them and engages the latch. The clock
//! stops at the latch's "all actuators safe" instant. Between trials the
//! latch is reset locally (the line is never pressed).
//!
//! `cargo bench -p robot-runtime --bench remote_kill_latency`;
//! `REMOTE_KILL_TRIALS` sets the count (default 300). Needs mosquitto
//! (`$MOSQUITTO`, the PATH, or /usr/sbin); without it, it says so and exits.

#[path = "../tests/sync_support/mod.rs"]
mod sync_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use robot_hal::board::{BoardFile, Level};
use robot_hal::program;
use robot_runtime::executor::YesToAll;
use robot_runtime::host::commands::{self, KillAction};
use robot_runtime::host::{sign_kill, KillCounter};
use robot_runtime::memory::{MemoryStore, StoreConfig};
use robot_runtime::recorder::Recorder;
use robot_runtime::remote::{system_wall_ms, FileStore, KillKey, RemoteKill, RemoteKillSink};
use robot_runtime::safety::OperatorReset;
use robot_runtime::session::{SessionSpec, SimSession};
use robot_runtime::sync::topics::Leaf;
use robot_runtime::sync::{BrokerConfig, RobotLink};
use sync_support::{fast_link, Mosquitto};

fn main() {
    let trials: usize = std::env::var("REMOTE_KILL_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(broker) = Mosquitto::start(dir.path()) else { return };
    let url = broker.url();

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml");
    let mut board = BoardFile::load(path).expect("board");
    // The latch is reset thousands of times; the release debounce is not
    // what is measured.
    board.kill_switch.debounce_ms = 0;
    let robot_id = board.board.robot_id.clone();
    let spec = SessionSpec { board_path: path.into(), seed: 1, level: Some(Level::L4), yes: true, estop_at_s: None };
    let mut session = SimSession::start(board, &spec, Recorder::memory()).expect("session");
    session.sim.set_pacing(Some(1.0));
    let latch = session.executor.latch.clone();

    let db = dir.path().join("memory.db");
    let _store =
        MemoryStore::open_with(&db, StoreConfig { robot_id: robot_id.clone(), ..Default::default() }).expect("memory");
    let key = KillKey::from_bytes([0x42; 32]).expect("key");
    let handler = RemoteKill::new(
        &robot_id,
        key.clone(),
        latch.clone(),
        Box::new(FileStore::new(dir.path().join("replay.json"))),
    )
    .expect("handler");
    let sink = Arc::new(RemoteKillSink::new(handler, Recorder::memory()).with_log(|_| {}));
    let link = RobotLink::start(fast_link(&url, &db, 1), sink.clone()).expect("link");
    assert!(link.wait_status(Duration::from_secs(10), |s| s.connected).1, "robot link did not connect");
    let bc = BrokerConfig::parse(&url).expect("url");
    let counter = KillCounter::new(dir.path().join("kill-counters"), &robot_id, "robot-host").expect("counter");

    let stop = Arc::new(AtomicBool::new(false));
    let executor = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let p = program::parse("drive(distance_m=0.4); drive(distance_m=-0.4)").expect("program");
            let mut runs = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if session.executor.latch.is_engaged() {
                    std::thread::sleep(Duration::from_micros(200));
                    continue;
                }
                session.run("bench", &p, &mut YesToAll);
                runs += 1;
            }
            runs
        })
    };

    let mut total = Vec::with_capacity(trials);
    let mut signing = Vec::with_capacity(trials);
    let mut failures = 0;
    std::thread::sleep(Duration::from_millis(100));
    for i in 0..trials {
        std::thread::sleep(Duration::from_micros(2_000 + (i as u64 * 7919) % 5_000));
        let t0 = Instant::now();
        let bytes =
            sign_kill(&key, &counter, &robot_id, "robot-host", KillAction::Kill, system_wall_ms()).expect("sign");
        let signed = t0.elapsed();
        let payload = commands::kill_switch_payload(KillAction::Kill, &bytes).expect("payload");
        let id = format!("bench-host-{i}");
        let sent = commands::publish_blocking(&bc, &id, &robot_id, Leaf::Kill, payload, Duration::from_secs(5));
        // As `robot host kill`: the counter reaches the disk after the send.
        counter.sync().expect("counter sync");
        if let Err(e) = sent {
            eprintln!("trial {i}: {e}");
            failures += 1;
            continue;
        }
        while latch.all_safe_at().is_none() && t0.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_micros(50));
        }
        match latch.all_safe_at() {
            Some(safe) => {
                total.push(safe.saturating_duration_since(t0));
                signing.push(signed);
            }
            None => failures += 1,
        }
        let t1 = Instant::now();
        while latch.reset(OperatorReset { operator: "bench".into() }).is_err() && t1.elapsed() < Duration::from_secs(1)
        {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let runs = executor.join().expect("executor thread");
    let st = sink.stats();
    let _ = link.stop();

    let show = |name: &str, v: &mut Vec<Duration>| {
        if v.is_empty() {
            println!("{name}: no successful trials");
            return Duration::MAX;
        }
        v.sort();
        let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "{name} over {} trials: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
            v.len(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            v[v.len() - 1]
        );
        pct(0.99)
    };
    println!(
        "remote kill through mosquitto (executor programs started: {runs}, failed trials: {failures}, \
         robot accepted {} refused {})",
        st.accepted, st.refused
    );
    show("  counter + sign (host)", &mut signing);
    let p99 = show("  sign + publish -> actuators safe", &mut total);
    println!("target p99 <= 20 ms: {}", if p99 <= Duration::from_millis(20) { "met" } else { "MISSED" });
}
