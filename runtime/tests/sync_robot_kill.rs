//! The robot process killed with SIGKILL mid-write and restarted, 20 times,
//! while it syncs its memory to the host through a real Mosquitto.
//!
//! The robot is the real `robot sim --memory FILE --mqtt URL` binary, fed a
//! stream of programs on its standard input: every run is one episode
//! written to the memory file, so the process is always between or inside
//! memory transactions and sync batches when it dies. Each life must write
//! and get acknowledgements before it is killed. After the last restart the
//! robot drains and exits; then the memory file must pass `PRAGMA
//! integrity_check`, its sequence numbers must be contiguous, and the
//! host's mirror must hold exactly the records the robot committed (zero
//! lost, zero applied twice). Skipped with a notice when mosquitto is not
//! installed.

mod common;
mod sync_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use robot_runtime::host::{HostConfig, HostDaemon, HostDb};
use robot_runtime::memory::{MemoryStore, StoreConfig};
use robot_runtime::sync::{outbox, BrokerConfig};
use rusqlite::{Connection, OpenFlags};
use sync_support::*;

const ROBOT: &str = "rover-k";
const KILLS: usize = 20;

/// `robot sim` on the memory file, its programs fed by a thread until the
/// pipe breaks (the process died) or `lines` have gone; then its input ends
/// when `close` says so.
fn spawn_robot(dir: &Path, memory: &Path, url: &str, life: usize, lines: usize, close: Option<Receiver<()>>) -> Child {
    let board = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml");
    let stderr = std::fs::File::create(dir.join(format!("robot-{life}.stderr"))).unwrap();
    let mut child = common::command(env!("CARGO_BIN_EXE_robot"))
        .args(["sim", "--board", board, "--seed", "1", "--mqtt", url])
        .arg("--memory")
        .arg(memory)
        .arg("--out")
        .arg(dir.join("out"))
        // No brain: programs need none, and startup stays fast.
        .arg("--brain")
        .arg(dir.join("no-brain"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn robot sim");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        for j in 0..lines {
            if writeln!(stdin, "say(text=\"life {life} line {j}\")").is_err() {
                return;
            }
        }
        if let Some(rx) = close {
            let _ = rx.recv();
        }
        // Returning drops stdin: end of input, the sim stops cleanly.
    });
    child
}

fn read_only(memory: &Path) -> Option<Connection> {
    let c = Connection::open_with_flags(memory, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    c.busy_timeout(Duration::from_secs(5)).ok()?;
    Some(c)
}

/// The robot file's newest sequence number (0 while unreadable).
fn robot_last_seq(memory: &Path) -> i64 {
    read_only(memory)
        .and_then(|c| c.query_row("SELECT last_seq FROM sync_state WHERE id = 1", [], |r| r.get(0)).ok())
        .unwrap_or(0)
}

/// Every sequence number present in the robot's memory file, ascending.
fn robot_seqs(memory: &Path) -> Vec<i64> {
    let c = read_only(memory).unwrap();
    let mut out = Vec::new();
    for table in ["places", "objects_seen", "episodes", "notes"] {
        let mut stmt = c.prepare(&format!("SELECT outbox_seq FROM {table}")).unwrap();
        out.extend(stmt.query_map([], |r| r.get::<_, i64>(0)).unwrap().map(Result::unwrap));
    }
    out.sort_unstable();
    out
}

/// The epoch in the robot's sync sidecar, once the robot has made it (read
/// only: the test must not create the sidecar itself).
fn robot_epoch(memory: &Path) -> Option<i64> {
    let c = read_only(&outbox::cursor_path(memory))?;
    c.query_row("SELECT epoch FROM sync_outbox WHERE id = 1", [], |r| r.get(0)).ok()
}

fn held(host_db: &Path, epoch: i64) -> i64 {
    HostDb::open(host_db).and_then(|db| db.held_through(ROBOT, epoch)).unwrap_or(0)
}

fn kill9(child: &mut Child) {
    // `Child::kill` is SIGKILL on Unix: no destructor, no clean disconnect.
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn robot_killed_mid_write_20_times_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(broker) = Mosquitto::start(d) else { return };
    let memory: PathBuf = d.join("robot.db");
    // Created here so the robot id is known; the sim opens the same file.
    drop(MemoryStore::open_with(&memory, StoreConfig { robot_id: ROBOT.into(), ..Default::default() }).unwrap());
    let host_db = d.join("host.db");
    let mut hb = BrokerConfig::parse(&broker.url()).unwrap();
    hb.keep_alive = Duration::from_secs(1);
    let mut hc = HostConfig::new(hb, &host_db);
    hc.backoff = fast_backoff();
    let host = HostDaemon::start(hc).unwrap();
    assert!(eventually(Duration::from_secs(10), || host.status().connected));

    let started = Instant::now();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let mut epoch = None;
    let mut at_kill = Vec::new();
    for life in 0..KILLS {
        let mut child = spawn_robot(d, &memory, &broker.url(), life, usize::MAX, None);
        let written_before = robot_last_seq(&memory);
        let held_before = epoch.map_or(0, |e| held(&host_db, e));
        // This life must write and be acknowledged before it dies.
        let alive = eventually(Duration::from_secs(20), || {
            if epoch.is_none() {
                epoch = robot_epoch(&memory);
            }
            let e = epoch.unwrap_or(0);
            robot_last_seq(&memory) > written_before && held(&host_db, e) > held_before
        });
        assert!(alive, "life {life}: no sync progress; see {}", d.join(format!("robot-{life}.stderr")).display());
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..250)));
        kill9(&mut child);
        let e = epoch.unwrap_or(0);
        at_kill.push((held(&host_db, e), robot_last_seq(&memory)));
    }
    // The last life: a bounded workload, synced in full while the robot
    // runs; then end of input, so the sim stops on its own (the clean path
    // after all the dirty ones).
    let epoch = epoch.unwrap();
    let before = robot_last_seq(&memory);
    let (close, closed) = channel();
    let mut last = spawn_robot(d, &memory, &broker.url(), KILLS, 200, Some(closed));
    let drained = eventually(Duration::from_secs(30), || {
        let w = robot_last_seq(&memory);
        w >= before + 200 && held(&host_db, epoch) == w
    });
    assert!(drained, "not drained: host holds {} of {}", held(&host_db, epoch), robot_last_seq(&memory));
    close.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = last.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the last robot did not stop at the end of its input");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "robot sim exited with {status}");
    let final_seq = robot_last_seq(&memory);
    assert_eq!(held(&host_db, epoch), final_seq, "written after the drain and not synced");

    let c = read_only(&memory).unwrap();
    let integrity: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let want = robot_seqs(&memory);
    assert_eq!(want, (1..=final_seq).collect::<Vec<_>>(), "robot sequence numbers are contiguous");
    assert!(final_seq > 300, "a real workload ran ({final_seq} records)");
    let got = HostDb::open(&host_db).unwrap().record_seqs(ROBOT, epoch).unwrap();
    assert_eq!(got.len(), want.len(), "lost: the host holds {} of {} records", got.len(), want.len());
    assert_eq!(got, want, "the host mirror differs from what the robot committed");
    let st = host.status();
    assert_eq!(st.conflicts, 0, "a record was applied twice: {st:?}");
    assert_eq!(st.records_new as usize, want.len(), "each record inserted exactly once: {st:?}");
    // Mid-sync: records were outstanding at (nearly) every kill, and the
    // host's number kept moving across the series.
    assert!(at_kill.iter().filter(|(h, w)| w > h).count() >= KILLS - 2, "{at_kill:?}");
    assert!(at_kill.windows(2).filter(|p| p[1].0 > p[0].0).count() >= KILLS - 2, "{at_kill:?}");
    eprintln!("{KILLS} kills, {final_seq} records, {:.1} s", started.elapsed().as_secs_f64());
    host.stop().unwrap();
}
