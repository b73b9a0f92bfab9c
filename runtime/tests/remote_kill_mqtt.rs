//! The remote kill-switch end to end over a real broker, both the embedded
//! one (rumqttd) and Mosquitto (skipped with a notice when not installed):
//! the host signs with the robot's key and a persisted counter, the robot's
//! link hands the bytes to a real [`RemoteKillSink`], and the simulated
//! robot's latch (watched by the real line monitor) does what the hardware
//! line would. Covered: an engage stops a robot mid-drive and a release
//! clears the stop without anything moving again; the engage is retained,
//! so a robot that connects or reconnects later (across a broker restart,
//! with Mosquitto's persistence) is stopped; forged, replayed, stale,
//! future, misaddressed, oversize, non-UTF-8 and non-JSON payloads published
//! straight to the topic are refused with the robot's state (latch and
//! replay file) unchanged; a release while the line is pressed is refused;
//! a stop recorded on the host is held (re-signed) so that a robot connecting
//! long after it, or after a Mosquitto `kill -9`, is still stopped.
//! The binaries are run as an operator would: `robot sim --mqtt
//! --kill-key` at a prompt, `robot host kill|release --key`, `:where`.

mod common;
mod sync_support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use robot_hal::board::{BoardFile, Level};
use robot_hal::program;
use robot_runtime::executor::{RunStatus, YesToAll};
use robot_runtime::host::commands::{self, KillAction};
#[cfg(feature = "embedded-broker")]
use robot_runtime::host::embedded;
use robot_runtime::host::operator_beat::BeatTarget;
use robot_runtime::host::{
    sign_kill, HoldTarget, HostDb, KillCounter, OperatorBeat, OperatorBeatConfig, StopHoldConfig, StopHolder,
};
use robot_runtime::memory::{MemoryStore, StoreConfig};
use robot_runtime::recorder::{Event, Recorder};
use robot_runtime::remote::{
    sign, system_wall_ms, Action, FileStore, KillFields, KillKey, KillOutcome, OperatorShared, OperatorWatchdog,
    RemoteKill, RemoteKillSink, ReplayStore, TimeWindow,
};
use robot_runtime::safety::Cause;
use robot_runtime::session::{SessionSpec, SimSession};
use robot_runtime::sync::topics::Leaf;
use robot_runtime::sync::{BrokerConfig, RobotLink};
use sync_support::*;

const ROBOT: &str = "sim-rover-1";
const KEY_HEX: &str = "8f3a1c5e7b9d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f13";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn board_path() -> PathBuf {
    root().join("boards/sim-rover.toml")
}

fn write_key(dir: &Path) -> PathBuf {
    let p = dir.join(format!("{ROBOT}.key"));
    std::fs::write(&p, format!("{KEY_HEX}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p
}

fn publish(url: &str, bytes: Vec<u8>) {
    let bc = BrokerConfig::parse(url).unwrap();
    let payload = commands::kill_switch_payload(KillAction::Kill, &bytes).unwrap();
    commands::publish_blocking(&bc, "test-host-kill", ROBOT, Leaf::Kill, payload, Duration::from_secs(5)).unwrap();
}

#[cfg(feature = "embedded-broker")]
#[test]
fn signed_messages_over_mqtt_drive_the_latch_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let b = embedded::start(([127, 0, 0, 1], free_port()).into()).unwrap();
    let url = format!("mqtt://{}", b.addr);

    let board = BoardFile::load(board_path()).unwrap();
    let spec = SessionSpec { board_path: "sim-rover".into(), seed: 1, level: None, yes: false, estop_at_s: None };
    let s = SimSession::start(board, &spec, Recorder::memory()).unwrap();
    let latch = s.executor.latch.clone();
    let db = dir.path().join("memory.db");
    let _store = MemoryStore::open_with(&db, StoreConfig { robot_id: ROBOT.into(), ..Default::default() }).unwrap();

    let key = KillKey::from_file(write_key(dir.path())).unwrap().key;
    let replay_file = dir.path().join("kill-replay.json");
    let handler = RemoteKill::new(ROBOT, key.clone(), latch.clone(), Box::new(FileStore::new(&replay_file))).unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l = lines.clone();
    let sink = Arc::new(
        RemoteKillSink::new(handler, Recorder::memory()).with_log(move |line| l.lock().unwrap().push(line.into())),
    );
    let link = RobotLink::start(fast_link(&url, &db, 1), sink.clone()).unwrap();
    assert!(link.wait_status(Duration::from_secs(10), |st| st.connected).1, "{:?}", link.status());
    let counter = KillCounter::new(dir.path().join("kill-counters"), ROBOT, "console").unwrap();
    let sign = |k: &KillKey, action| sign_kill(k, &counter, ROBOT, "console", action, system_wall_ms()).unwrap();
    let refused = |n: u64, code: &str| {
        let ok = eventually(Duration::from_secs(5), || sink.stats().refused == n);
        let st = sink.stats();
        assert!(ok, "expected {n} refusals: {st:?}");
        assert_eq!(st.last_refusal, Some(code), "{st:?}");
    };

    // A signed engage stops the robot, exactly as the line would.
    assert!(!latch.is_engaged());
    let engage = sign(&key, KillAction::Kill);
    publish(&url, engage.clone());
    assert!(eventually(Duration::from_secs(5), || latch.is_engaged()), "{:?}", sink.stats());
    assert_eq!(latch.cause(), Some(Cause::Remote));
    assert!(matches!(sink.stats().last_outcome, Some(KillOutcome::Engaged { newly: true, persisted: true, .. })));
    assert!(s.executor.latch.check_write().is_err(), "actuator writes are refused");
    let saved = FileStore::new(&replay_file).load().unwrap();
    assert!(saved.standing_engage.is_some(), "the stop survives a restart");

    // The same bytes again (a recorded copy): refused, nothing changes.
    publish(&url, engage.clone());
    refused(1, "replayed");

    // Forged: signed with another key, and a genuine one altered in transit.
    let other = KillKey::from_bytes([0x5a; 32]).unwrap();
    publish(&url, sign(&other, KillAction::Release));
    refused(2, "bad_signature");
    let altered = String::from_utf8(sign(&key, KillAction::Kill)).unwrap().replace("\"engage\"", "\"release\"");
    publish(&url, altered.into_bytes());
    refused(3, "bad_signature");
    assert!(latch.is_engaged());
    assert_eq!(sink.stats().accepted, 1);

    // The hardware line is pressed: a genuine release is refused.
    s.sim.press_estop();
    assert!(eventually(Duration::from_secs(2), || latch.line_pressed()));
    publish(&url, sign(&key, KillAction::Release));
    refused(4, "line_pressed");
    assert!(latch.is_engaged());

    // Line released for longer than the debounce: a fresh release clears
    // the stop (and only the stop: nothing restarts).
    s.sim.release_estop();
    assert!(eventually(Duration::from_secs(2), || !latch.line_pressed()));
    std::thread::sleep(Duration::from_millis(100));
    publish(&url, sign(&key, KillAction::Release));
    assert!(eventually(Duration::from_secs(5), || !latch.is_engaged()), "{:?}", sink.stats());
    assert!(matches!(sink.stats().last_outcome, Some(KillOutcome::Released { .. })));
    assert_eq!(FileStore::new(&replay_file).load().unwrap().standing_engage, None);

    // Everything reached the sink's recorder and its report.
    let st = sink.stats();
    assert_eq!((st.delivered, st.accepted, st.refused), (6, 2, 4), "{st:?}");
    let reasons: Vec<String> = sink
        .records()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::RemoteRefused { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, ["replayed", "bad_signature", "bad_signature", "line_pressed"]);
    assert_eq!(lines.lock().unwrap().len(), 6, "{:?}", lines.lock().unwrap());
    // The link counts a delivery after the sink has taken it, so the
    // counter may trail the sink's own tally by a moment.
    assert!(eventually(Duration::from_secs(2), || link.status().kills_delivered == 6), "{:?}", link.status());
    link.stop().unwrap();
}

/// A `robot sim` at its prompt, with its output collected line by line.
struct SimProcess {
    child: Child,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

impl SimProcess {
    fn start(args: &[&str]) -> SimProcess {
        let mut child = common::command(env!("CARGO_BIN_EXE_robot"))
            .arg("sim")
            .args(args)
            .current_dir(root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the robot binary runs");
        let collect = |stream: Box<dyn std::io::Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let l = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    l.lock().unwrap().push(line);
                }
            });
            lines
        };
        let out = collect(Box::new(child.stdout.take().unwrap()));
        let err = collect(Box::new(child.stderr.take().unwrap()));
        SimProcess { child, out, err }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn wait_out(&self, timeout: Duration, needle: &str) -> bool {
        eventually(timeout, || self.out.lock().unwrap().iter().any(|l| l.contains(needle)))
    }

    fn wait_err(&self, timeout: Duration, needle: &str) -> bool {
        eventually(timeout, || self.err.lock().unwrap().iter().any(|l| l.contains(needle)))
    }

    fn count_out(&self, needle: &str) -> usize {
        self.out.lock().unwrap().iter().filter(|l| l.contains(needle)).count()
    }

    fn count_err(&self, needle: &str) -> usize {
        self.err.lock().unwrap().iter().filter(|l| l.contains(needle)).count()
    }

    fn quit(mut self) -> String {
        self.type_line(":quit");
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        let text = format!(
            "stdout:\n{}\nstderr:\n{}",
            self.out.lock().unwrap().join("\n"),
            self.err.lock().unwrap().join("\n")
        );
        assert!(status.success(), "{text}");
        assert!(!text.contains("panicked"), "{text}");
        text
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn host_kill(url: &str, dir: &Path, what: &str, key: &Path) -> std::process::Output {
    let db = dir.join("fleet.db");
    let args = [what, ROBOT, "--key", key.to_str().unwrap(), "--mqtt", url, "--db", db.to_str().unwrap()];
    let o = common::command(env!("CARGO_BIN_EXE_robot")).arg("host").args(args).stdin(Stdio::null()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

#[cfg(feature = "embedded-broker")]
#[test]
fn the_binaries_stop_the_sim_and_a_sim_without_a_key_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let b = embedded::start(([127, 0, 0, 1], free_port()).into()).unwrap();
    binaries_scenario(&format!("mqtt://{}", b.addr), dir.path());
}

#[test]
fn the_binaries_stop_the_sim_through_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let Some(m) = Mosquitto::start(dir.path()) else { return };
    binaries_scenario(&m.url(), dir.path());
}

fn binaries_scenario(url: &str, dir: &Path) {
    let url = url.to_string();
    let key = write_key(dir);
    let out = dir.join("out");
    let (out_s, key_s, board_s) = (out.to_str().unwrap(), key.to_str().unwrap(), board_path());
    let common_args = ["--board", board_s.to_str().unwrap(), "--out", out_s, "--brain", "/nonexistent", "--mqtt", &url];
    let t = Duration::from_secs(20);

    // With a key: `robot host kill --key` stops it; `:where` says so.
    let mut sim = SimProcess::start(&[&common_args[..], &["--kill-key", key_s]].concat());
    assert!(sim.wait_out(t, "memory sync:"), "{:?}", sim.out.lock().unwrap());
    assert!(sim.wait_out(t, "remote kill-switch: armed"));
    sim.type_line(":where");
    assert!(sim.wait_out(t, "latch clear"));
    // Retained: it reaches the robot even if its subscription is not in yet.
    let o = host_kill(&url, dir, "kill", &key);
    assert!(String::from_utf8_lossy(&o.stdout).contains("published for sim-rover-1 (retained)"));
    assert!(sim.wait_err(t, "latch ENGAGED"), "{:?}", sim.err.lock().unwrap());
    sim.type_line(":where");
    assert!(sim.wait_out(t, "latch ENGAGED"));
    // The counter file was written beside the host database, which
    // records the stop for a daemon to hold.
    let counter = KillCounter::new(dir.join("kill-counters"), ROBOT, "robot-host").unwrap();
    assert!(counter.last().unwrap() > 0);
    assert!(HostDb::open(dir.join("fleet.db")).unwrap().is_stopped(ROBOT).unwrap());
    // A release that cannot be sent leaves the stop recorded (and held).
    let db_arg = dir.join("fleet.db");
    let dead = ["release", ROBOT, "--key", key_s, "--mqtt", "mqtt://127.0.0.1:9", "--db", db_arg.to_str().unwrap()];
    let o = common::command(env!("CARGO_BIN_EXE_robot")).arg("host").args(dead).stdin(Stdio::null()).output().unwrap();
    assert!(!o.status.success());
    assert!(HostDb::open(dir.join("fleet.db")).unwrap().is_stopped(ROBOT).unwrap());
    // A release signed by the host clears it (the line is not pressed),
    // and the recorded stop with it.
    host_kill(&url, dir, "release", &key);
    assert!(!HostDb::open(dir.join("fleet.db")).unwrap().is_stopped(ROBOT).unwrap());
    assert!(sim.wait_err(t, "latch reset"), "{:?}", sim.err.lock().unwrap());
    sim.type_line(":where");
    assert!(eventually(t, || sim.count_out("latch clear") == 2));
    let log = sim.quit();
    let remote_log = std::fs::read_to_string(out.join("remote-kill.jsonl")).unwrap();
    assert!(remote_log.contains("remote_engage") && remote_log.contains("remote_release"), "{remote_log}\n{log}");

    // Without a key: the same message is refused with a clear message and
    // the latch stays clear. The retained release is delivered on connect
    // and refused too.
    let mut sim = SimProcess::start(&common_args);
    assert!(sim.wait_err(t, "no kill-switch key"), "the retained release, refused on connect");
    assert!(sim.wait_out(t, "kill-switch messages will be refused"));
    assert!(sim.wait_out(t, "memory sync:"));
    host_kill(&url, dir, "kill", &key);
    assert!(eventually(t, || sim.count_err("no kill-switch key") == 2), "{:?}", sim.err.lock().unwrap());
    sim.type_line(":where");
    assert!(sim.wait_out(t, "latch clear"));
    sim.quit();
}

/// A simulated robot on the link, its kill topic wired to a real sink.
struct Robot {
    s: SimSession,
    sink: Arc<RemoteKillSink>,
    link: Option<RobotLink>,
    url: String,
    db: PathBuf,
    replay_file: PathBuf,
    _store: MemoryStore,
}

impl Robot {
    /// Level L4 and no confirmation prompts, so a program drives at once.
    fn start(url: &str, dir: &Path) -> Robot {
        Robot::start_with_window(url, dir, TimeWindow::default())
    }

    /// [`Robot::start`] refusing messages older than `window`.
    fn start_with_window(url: &str, dir: &Path, window: TimeWindow) -> Robot {
        std::fs::create_dir_all(dir).unwrap();
        let board = BoardFile::load(board_path()).unwrap();
        let spec = SessionSpec {
            board_path: "sim-rover".into(),
            seed: 1,
            level: Some(Level::L4),
            yes: true,
            estop_at_s: None,
        };
        let s = SimSession::start(board, &spec, Recorder::memory()).unwrap();
        let db = dir.join("memory.db");
        let store = MemoryStore::open_with(&db, StoreConfig { robot_id: ROBOT.into(), ..Default::default() }).unwrap();
        let key = KillKey::from_file(write_key(dir)).unwrap().key;
        let replay_file = dir.join("kill-replay.json");
        let handler = RemoteKill::new(ROBOT, key, s.executor.latch.clone(), Box::new(FileStore::new(&replay_file)))
            .unwrap()
            .with_window(window);
        let sink = Arc::new(RemoteKillSink::new(handler, Recorder::memory()).with_log(|_| {}));
        let mut r = Robot { s, sink, link: None, url: url.into(), db, replay_file, _store: store };
        r.connect();
        r
    }

    fn connect(&mut self) {
        let link = RobotLink::start(fast_link(&self.url, &self.db, 1), self.sink.clone()).unwrap();
        assert!(link.wait_status(Duration::from_secs(10), |st| st.connected).1, "{:?}", link.status());
        self.link = Some(link);
    }

    fn disconnect(&mut self) {
        if let Some(l) = self.link.take() {
            l.stop().unwrap();
        }
    }

    fn replay_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(&self.replay_file).ok()
    }

    /// Wait for the `n`th refusal and check its reason.
    fn refused(&self, n: u64, code: &str) {
        let ok = eventually(Duration::from_secs(5), || self.sink.stats().refused >= n);
        let st = self.sink.stats();
        assert!(ok && st.refused == n, "expected {n} refusals: {st:?}");
        assert_eq!(st.last_refusal, Some(code), "{st:?}");
    }
}

fn moved(a: robot_hal::Pose, b: robot_hal::Pose) -> f64 {
    (b.x - a.x).hypot(b.y - a.y)
}

fn test_key() -> KillKey {
    KillKey::from_hex(KEY_HEX).unwrap()
}

fn signed(key: &KillKey, robot: &str, action: Action, counter: u64, timestamp_ms: u64) -> Vec<u8> {
    let f = KillFields { robot_id: robot.into(), action, counter, timestamp_ms, issuer: "console".into() };
    sign(key, f).unwrap().to_json().into_bytes()
}

/// Publish bytes straight to the robot's kill topic, retained, with none
/// of the host's own checks.
fn publish_raw(url: &str, bytes: &[u8]) {
    let bc = BrokerConfig::parse(url).unwrap();
    commands::publish_blocking(&bc, "test-raw", ROBOT, Leaf::Kill, bytes.to_vec(), Duration::from_secs(5)).unwrap();
}

/// Every kind of bad payload, each while the robot runs and while it is
/// stopped: refused with its reason, latch and replay file unchanged.
fn bad_payloads_scenario(url: &str, dir: &Path) {
    let r = Robot::start(url, dir);
    let latch = r.s.executor.latch.clone();
    let key = test_key();
    let other = KillKey::from_bytes([0x5a; 32]).unwrap();
    let now = system_wall_ms();
    let mut json_with_extra = String::from_utf8(signed(&key, ROBOT, Action::Engage, 50, now)).unwrap();
    json_with_extra.insert_str(1, "\"extra\":1,");
    let bad = |action: Action, c: u64| -> Vec<(Vec<u8>, &'static str)> {
        vec![
            (signed(&other, ROBOT, action, c, now), "bad_signature"),
            (signed(&key, ROBOT, action, c, now - 5 * 60_000), "stale"),
            (signed(&key, ROBOT, action, c, now + 5 * 60_000), "from_future"),
            (signed(&key, "sim-rover-2", action, c, now), "wrong_robot"),
            (vec![b'{'; 4096], "oversize"),
            (b"\xff\xfe{\"robot_id\":\"sim-rover-1\"}".to_vec(), "malformed"),
            (b"{\"robot_id\":\"sim-rover-1\",".to_vec(), "malformed"),
            (json_with_extra.clone().into_bytes(), "malformed"),
        ]
    };

    let mut n = 0;
    for (bytes, code) in bad(Action::Engage, 10) {
        publish_raw(url, &bytes);
        n += 1;
        r.refused(n, code);
        assert!(!latch.is_engaged(), "{code}");
        assert!(latch.check_write().is_ok(), "{code}");
        assert_eq!(r.replay_bytes(), None, "{code}: nothing was saved");
    }

    let engage = signed(&key, ROBOT, Action::Engage, 100, now);
    publish_raw(url, &engage);
    // The latch engages first, the replay state is written after.
    assert!(eventually(Duration::from_secs(5), || latch.is_engaged() && r.replay_bytes().is_some()));
    let saved = r.replay_bytes().expect("the engage was saved");

    // A replayed engage, then bad releases: none clears the stop.
    publish_raw(url, &engage);
    n += 1;
    r.refused(n, "replayed");
    publish_raw(url, &signed(&key, ROBOT, Action::Release, 100, now));
    n += 1;
    r.refused(n, "replayed");
    for (bytes, code) in bad(Action::Release, 200) {
        publish_raw(url, &bytes);
        n += 1;
        r.refused(n, code);
        assert!(latch.is_engaged(), "{code}");
        assert_eq!(latch.cause(), Some(Cause::Remote));
        assert_eq!(r.replay_bytes().as_ref(), Some(&saved), "{code}: the replay state did not change");
    }
    let st = r.sink.stats();
    assert_eq!((st.accepted, st.refused), (1, n), "{st:?}");
}

#[cfg(feature = "embedded-broker")]
#[test]
fn bad_payloads_are_refused_and_change_nothing_over_the_embedded_broker() {
    let dir = tempfile::tempdir().unwrap();
    let b = embedded::start(([127, 0, 0, 1], free_port()).into()).unwrap();
    bad_payloads_scenario(&format!("mqtt://{}", b.addr), dir.path());
}

#[test]
fn bad_payloads_are_refused_and_change_nothing_over_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let Some(m) = Mosquitto::start(dir.path()) else { return };
    bad_payloads_scenario(&m.url(), &dir.path().join("robot"));
}

/// An engage stops a robot in the middle of a drive; the release clears
/// the stop and nothing moves afterwards; an engage published while the
/// robot is offline stops it when it reconnects.
fn drive_stop_release_scenario(url: &str, dir: &Path) -> Robot {
    let mut r = Robot::start(url, dir);
    let key = test_key();
    let counter = KillCounter::new(dir.join("kill-counters"), ROBOT, "console").unwrap();
    let host = |action| {
        let bytes = sign_kill(&key, &counter, ROBOT, "console", action, system_wall_ms()).unwrap();
        let payload = commands::kill_switch_payload(action, &bytes).unwrap();
        let bc = BrokerConfig::parse(url).unwrap();
        commands::publish_blocking(&bc, "test-host", ROBOT, Leaf::Kill, payload, Duration::from_secs(5)).unwrap();
        counter.sync().unwrap();
    };
    let latch = r.s.executor.latch.clone();
    let sim = r.s.sim.clone();
    sim.set_pacing(Some(1.0));

    // Drive 5 m in real time on another thread; stop it after a moment.
    let start = sim.truth();
    let mut s = r.s;
    let driver = std::thread::spawn(move || {
        let p = program::parse("drive(distance_m=5)").unwrap();
        let report = s.run("drive", &p, &mut YesToAll);
        (s, report)
    });
    assert!(eventually(Duration::from_secs(5), || moved(start, sim.truth()) > 0.05), "the robot drives");
    host(KillAction::Kill);
    assert!(eventually(Duration::from_secs(5), || latch.all_safe_at().is_some()), "{:?}", r.sink.stats());
    let (s, report) = driver.join().unwrap();
    r.s = s;
    assert_eq!(report.status, RunStatus::Estopped, "{report:?}");
    assert!(moved(start, sim.truth()) < 4.0, "stopped well short of 5 m");

    // Release: the stop clears, the actuators are rearmed at rest, and
    // nothing restarts.
    host(KillAction::Release);
    assert!(eventually(Duration::from_secs(5), || !latch.is_engaged()), "{:?}", r.sink.stats());
    let at_release = sim.truth();
    std::thread::sleep(Duration::from_millis(500));
    let later = sim.truth();
    assert_eq!((later.x, later.y, later.heading_deg), (at_release.x, at_release.y, at_release.heading_deg));
    assert!(latch.check_write().is_ok());

    // Offline: the engage waits at the broker (retained) and stops the
    // robot the moment it reconnects.
    r.disconnect();
    host(KillAction::Kill);
    assert!(!latch.is_engaged());
    r.connect();
    assert!(eventually(Duration::from_secs(5), || latch.is_engaged()), "{:?}", r.sink.stats());
    assert_eq!(r.sink.stats().accepted, 3);
    r
}

#[cfg(feature = "embedded-broker")]
#[test]
fn an_engage_stops_a_drive_the_release_moves_nothing_and_a_reconnecting_robot_is_stopped_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let b = embedded::start(([127, 0, 0, 1], free_port()).into()).unwrap();
    drive_stop_release_scenario(&format!("mqtt://{}", b.addr), dir.path());
}

#[test]
fn an_engage_stops_a_drive_the_release_moves_nothing_and_a_reconnecting_robot_is_stopped_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let Some(m) = Mosquitto::start(dir.path()) else { return };
    let robot_dir = dir.path().join("robot");
    std::fs::create_dir_all(&robot_dir).unwrap();
    let mut r = drive_stop_release_scenario(&m.url(), &robot_dir);
    r.disconnect();

    // A robot that never saw the stop (its replay state lost) connects
    // later: the retained engage stops it.
    let fresh_dir = dir.path().join("fresh");
    std::fs::create_dir_all(&fresh_dir).unwrap();
    let fresh = Robot::start(&m.url(), &fresh_dir);
    assert!(eventually(Duration::from_secs(5), || fresh.s.executor.latch.is_engaged()), "{:?}", fresh.sink.stats());
    assert_eq!(fresh.s.executor.latch.cause(), Some(Cause::Remote));
}

/// The host holds a recorded stop: robots refuse engages older than their
/// window (1 s here), yet a robot that connects long after the stop, and
/// one that connects after the broker was killed with `kill -9` (its
/// retained messages not yet saved) and restarted, is stopped, because the
/// holder re-signs the engage every period. Once the stop is cleared and
/// released, nothing more is sent and the release is not undone.
fn stop_hold_scenario(url: &str, dir: &Path, mut broker_kill9: impl FnMut()) {
    let key = test_key();
    let window = TimeWindow::symmetric(Duration::from_secs(1));
    std::fs::create_dir_all(dir).unwrap();
    let db_path = dir.join("host.db");
    let counters = dir.join("kill-counters");
    let counter = KillCounter::new(&counters, ROBOT, "robot-host").unwrap();
    let db = HostDb::open(&db_path).unwrap();
    db.record_stop(ROBOT, "robot-host", system_wall_ms() as i64).unwrap();
    let mut c = StopHoldConfig::new(BrokerConfig::parse(url).unwrap(), "test-hold", "robot-host", db_path.clone());
    c.period = Duration::from_millis(200);
    c.targets = vec![HoldTarget { robot_id: ROBOT.into(), key: key.clone(), counter: counter.clone() }];
    let holder = StopHolder::start(c).unwrap();
    assert!(eventually(Duration::from_secs(5), || holder.sent() >= 1), "{:?}", holder.last_error());

    // Three windows after the stop: the first engage is long stale.
    std::thread::sleep(Duration::from_secs(3));
    let mut late = Robot::start_with_window(url, &dir.join("late"), window);
    assert!(eventually(Duration::from_secs(5), || late.s.executor.latch.is_engaged()), "{:?}", late.sink.stats());
    assert_eq!(late.s.executor.latch.cause(), Some(Cause::Remote));
    // Off the broker before the next robot with the same id (and client id)
    // connects: two would keep taking the session from each other.
    late.disconnect();

    // The broker dies without saving and comes back.
    broker_kill9();
    let after_crash = Robot::start_with_window(url, &dir.join("after-crash"), window);
    assert!(
        eventually(Duration::from_secs(10), || after_crash.s.executor.latch.is_engaged()),
        "{:?} {:?}",
        after_crash.sink.stats(),
        holder.last_error()
    );

    // The operator releases: the stop is cleared first, then signed. A
    // latch resets only once the robot's kill-switch line has been released
    // for its debounce time, which starts when the robot does.
    std::thread::sleep(Duration::from_secs(1));
    assert!(db.clear_stop(ROBOT).unwrap());
    let bytes = sign_kill(&key, &counter, ROBOT, "robot-host", KillAction::Release, system_wall_ms()).unwrap();
    publish_raw(url, &bytes);
    counter.sync().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || !after_crash.s.executor.latch.is_engaged()),
        "{:?}",
        after_crash.sink.stats()
    );
    let sent = holder.sent();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(holder.sent(), sent, "nothing re-sent after the release");
    assert!(!after_crash.s.executor.latch.is_engaged(), "{:?}", after_crash.sink.stats());
    // Only the broker's crash may show (as a connection error), never a
    // signing, database or publishing error of a stop.
    let last = holder.last_error();
    assert!(!last.as_deref().is_some_and(|e| e.starts_with("stop")), "{last:?}");
}

#[test]
fn the_host_holds_a_stop_past_the_window_and_across_a_mosquitto_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut m) = Mosquitto::start(dir.path()) else { return };
    let url = m.url();
    stop_hold_scenario(&url, &dir.path().join("host"), || {
        m.kill9();
        m.restart();
    });
}

#[cfg(feature = "embedded-broker")]
#[test]
fn the_host_holds_a_stop_past_the_window_over_the_embedded_broker() {
    let dir = tempfile::tempdir().unwrap();
    let b = embedded::start(([127, 0, 0, 1], free_port()).into()).unwrap();
    // The embedded broker keeps retained messages in memory only; the
    // holder's re-sent engage is what a new robot gets.
    stop_hold_scenario(&format!("mqtt://{}", b.addr), &dir.path().join("host"), || {});
}

/// The operator link over MQTT: the host's signed heartbeats keep a robot
/// at an operator level running; when they stop, the watchdog engages the
/// latch and the level drops; heartbeats signed with another key do not
/// count; at L4 a silent link changes nothing.
fn operator_link_scenario(url: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let board = BoardFile::load(board_path()).unwrap();
    let spec =
        SessionSpec { board_path: "sim-rover".into(), seed: 1, level: Some(Level::L2), yes: true, estop_at_s: None };
    let mut s = SimSession::start(board, &spec, Recorder::memory()).unwrap();
    let latch = s.executor.latch.clone();
    let db = dir.join("memory.db");
    let _store = MemoryStore::open_with(&db, StoreConfig { robot_id: ROBOT.into(), ..Default::default() }).unwrap();
    let key = test_key();
    let handler =
        RemoteKill::new(ROBOT, key.clone(), latch.clone(), Box::new(FileStore::new(dir.join("replay.json")))).unwrap();
    let timeout = Duration::from_millis(1_000);
    let sink = Arc::new(
        RemoteKillSink::new(handler, Recorder::memory()).with_log(|_| {}).with_operator_link(timeout, latch.clone()),
    );
    let beats = |k: &KillKey| {
        let mut c = OperatorBeatConfig::new(BrokerConfig::parse(url).unwrap(), "test-beat", "console-heartbeat");
        c.period = Duration::from_millis(100);
        let counter = KillCounter::new(dir.join("kill-counters"), ROBOT, "console-heartbeat").unwrap();
        c.targets = vec![BeatTarget { robot_id: ROBOT.into(), key: k.clone(), counter }];
        OperatorBeat::start(c).unwrap()
    };
    // Heartbeats signed with another key do not count: the robot stops
    // one timeout after the watchdog started.
    let forged = beats(&KillKey::from_bytes([0x5a; 32]).unwrap());
    let link = RobotLink::start(fast_link(url, &db, 1), sink.clone()).unwrap();
    assert!(link.wait_status(Duration::from_secs(10), |st| st.connected).1);
    let shared = OperatorShared::new(s.executor.policy.level());
    let _dog = OperatorWatchdog::spawn(sink.clone(), shared.clone()).unwrap();
    assert!(eventually(Duration::from_secs(4), || latch.is_engaged()), "{:?}", sink.stats());
    assert_eq!(latch.cause(), Some(Cause::Software));
    assert!(forged.sent() > 0);
    assert_eq!((sink.stats().last_refusal, sink.stats().heartbeats), (Some("bad_signature"), 0));
    // The watchdog engages first and hands the loss over just after.
    let mut taken = None;
    assert!(eventually(Duration::from_secs(2), || {
        taken = taken.or_else(|| shared.take_loss());
        taken.is_some()
    }));
    let loss = taken.expect("the loss is left for the policy's owner");
    assert_eq!(loss.apply(&latch, &mut s.executor.policy), Level::L1);
    shared.set_level(s.executor.policy.level());
    drop(forged);

    // The operator's console comes up and an operator resets the stop: the
    // heartbeats keep the robot running for well over the timeout.
    let host = beats(&key);
    assert!(eventually(Duration::from_secs(4), || sink.stats().heartbeats > 0), "{:?}", sink.stats());
    latch.reset(robot_runtime::safety::OperatorReset { operator: "test".into() }).unwrap();
    std::thread::sleep(Duration::from_millis(2_000));
    assert!(!latch.is_engaged(), "{:?}", sink.stats());
    assert!(sink.stats().heartbeats >= 10, "{:?} (host sent {})", sink.stats(), host.sent());

    // The operator's console goes away: stopped again.
    drop(host);
    assert!(eventually(Duration::from_secs(3), || latch.is_engaged()), "{:?}", sink.stats());
    assert_eq!(latch.cause(), Some(Cause::Software));
    assert_eq!(sink.stats().link_losses, 2);
    assert!(eventually(Duration::from_secs(2), || shared.take_loss().is_some()));

    // At L4 nobody needs to be there.
    s.executor.policy.set_level_by_operator(Level::L4).unwrap();
    shared.set_level(Level::L4);
    latch.reset(robot_runtime::safety::OperatorReset { operator: "test".into() }).unwrap();
    std::thread::sleep(timeout * 2);
    assert!(!latch.is_engaged());
    link.stop().unwrap();
}

#[cfg(feature = "embedded-broker")]
#[test]
fn operator_heartbeats_over_the_embedded_broker() {
    let dir = tempfile::tempdir().unwrap();
    let b = embedded::start(([127, 0, 0, 1], free_port()).into()).unwrap();
    operator_link_scenario(&format!("mqtt://{}", b.addr), dir.path());
}

#[test]
fn operator_heartbeats_over_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let Some(m) = Mosquitto::start(dir.path()) else { return };
    operator_link_scenario(&m.url(), &dir.path().join("robot"));
}

/// The binaries: `robot host --heartbeat` beats for a `robot sim
/// --operator-link` at L2; when the host goes away the sim stops and drops
/// to L1.
#[cfg(feature = "embedded-broker")]
#[test]
fn a_sim_with_an_operator_link_stops_when_the_host_daemon_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let b = embedded::start(([127, 0, 0, 1], free_port()).into()).unwrap();
    let url = format!("mqtt://{}", b.addr);
    let key = write_key(dir.path());
    let (key_s, db) = (key.to_str().unwrap(), dir.path().join("fleet.db"));
    let beat = format!("{ROBOT}={key_s}");
    let mut host = common::command(env!("CARGO_BIN_EXE_robot"))
        .args(["host", "--mqtt", &url, "--db", db.to_str().unwrap(), "--heartbeat", &beat, "--heartbeat-ms", "200"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = dir.path().join("out");
    let board = board_path();
    let mut sim = SimProcess::start(&[
        "--board",
        board.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--brain",
        "/nonexistent",
        "--mqtt",
        &url,
        "--kill-key",
        key_s,
        "--operator-link",
        "--level",
        "L2",
    ]);
    let t = Duration::from_secs(20);
    assert!(sim.wait_out(t, "operator link: signed heartbeats required"), "{:?}", sim.out.lock().unwrap());
    // Longer than the board's timeout: the heartbeats keep it running.
    std::thread::sleep(Duration::from_secs(4));
    sim.type_line(":where");
    assert!(sim.wait_out(t, "latch clear"), "{:?}\n{:?}", sim.out.lock().unwrap(), sim.err.lock().unwrap());
    host.kill().unwrap();
    host.wait().unwrap();
    assert!(sim.wait_err(t, "operator link lost"), "{:?}", sim.err.lock().unwrap());
    sim.type_line(":where");
    assert!(sim.wait_out(t, "level L2 -> L1"), "{:?}", sim.out.lock().unwrap());
    assert!(sim.wait_out(t, "| latch ENGAGED"), "{:?}", sim.out.lock().unwrap());
    sim.quit();
}
