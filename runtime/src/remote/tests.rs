//! The security tests of the remote kill-switch: each way a message can be
//! wrong is refused, logged, and leaves the latch as it was; a release
//! needs the line released and never restarts motion; a restart keeps both
//! the replay marks and a standing stop.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use robot_hal::board::BoardFile;
use robot_hal::capability::{Clock, DifferentialDrive, SafeStop};
use robot_hal::DeviceError;
use robot_sim::Sim;

use super::*;
use crate::recorder::{Event, Recorder};
use crate::safety::{Cause, Latch, OperatorReset};

const ROBOT: &str = "sim-rover-1";
const T0: u64 = 1_700_000_000_000;

fn key() -> KillKey {
    KillKey::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
}

fn now(unix_ms: u64) -> Now {
    Now { unix_ms, t: Duration::from_millis(unix_ms.saturating_sub(T0)) }
}

fn payload_with(key: &KillKey, robot: &str, action: Action, counter: u64, timestamp_ms: u64, issuer: &str) -> Vec<u8> {
    let fields = KillFields { robot_id: robot.into(), action, counter, timestamp_ms, issuer: issuer.into() };
    sign(key, fields).unwrap().to_json().into_bytes()
}

fn payload(action: Action, counter: u64, timestamp_ms: u64) -> Vec<u8> {
    payload_with(&key(), ROBOT, action, counter, timestamp_ms, "console")
}

/// An actuator that counts what the latch does to it.
#[derive(Default)]
struct Stop {
    forced: AtomicUsize,
    rearmed: AtomicUsize,
    safe: AtomicBool,
}

impl SafeStop for Stop {
    fn name(&self) -> &str {
        "test"
    }
    fn force_safe(&self) -> Result<(), DeviceError> {
        self.forced.fetch_add(1, Ordering::SeqCst);
        self.safe.store(true, Ordering::SeqCst);
        Ok(())
    }
    fn is_safe(&self) -> bool {
        self.safe.load(Ordering::SeqCst)
    }
    fn rearm(&self) {
        self.rearmed.fetch_add(1, Ordering::SeqCst);
        self.safe.store(false, Ordering::SeqCst);
    }
}

struct Rig {
    kill: RemoteKill,
    latch: Arc<Latch>,
    stop: Arc<Stop>,
    rec: Recorder,
}

fn rig_with(store: Box<dyn ReplayStore>) -> Rig {
    let stop = Arc::new(Stop::default());
    let latch = Latch::new(vec![stop.clone() as Arc<dyn SafeStop>], Duration::ZERO);
    let kill = RemoteKill::new(ROBOT, key(), latch.clone(), store).unwrap();
    Rig { kill, latch, stop, rec: Recorder::memory() }
}

fn rig() -> Rig {
    rig_with(Box::new(MemoryStore::default()))
}

impl Rig {
    fn send(&mut self, bytes: &[u8], at: u64) -> Result<KillOutcome, RemoteKillError> {
        self.kill.handle(ROBOT, bytes, now(at), &mut self.rec)
    }

    fn local_reset(&self) {
        self.latch.reset(OperatorReset { operator: "test".into() }).unwrap();
    }

    fn last_event(&self) -> &Event {
        &self.rec.records().last().expect("something was recorded").event
    }

    fn last_refusal(&self) -> &str {
        match self.last_event() {
            Event::RemoteRefused { reason, .. } => reason,
            other => panic!("expected a refusal in the log, got {other:?}"),
        }
    }
}

#[test]
fn a_valid_engage_stops_the_robot_and_names_the_issuer_in_the_log() {
    let mut r = rig();
    let out = r.send(&payload(Action::Engage, 1, T0), T0 + 200).unwrap();
    assert_eq!(out, KillOutcome::Engaged { issuer: "console".into(), counter: 1, newly: true, persisted: true });
    assert!(r.latch.is_engaged());
    assert_eq!(r.latch.cause(), Some(Cause::Remote));
    assert!(r.stop.is_safe());
    match r.last_event() {
        Event::Safety { what, detail } => {
            assert_eq!(what, "remote_engage");
            assert!(detail.contains("console"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_forged_signature_is_refused_and_logged() {
    let mut r = rig();
    let forger = KillKey::from_bytes([0x42; 32]).unwrap();
    let forged = payload_with(&forger, ROBOT, Action::Engage, 1, T0, "console");
    assert!(matches!(r.send(&forged, T0), Err(RemoteKillError::Message(MessageError::BadSignature))));
    assert!(!r.latch.is_engaged());
    assert_eq!(r.last_refusal(), "bad_signature");
    // A forged message does not burn the issuer's counter.
    assert!(r.send(&payload(Action::Engage, 1, T0), T0).is_ok());
}

#[test]
fn a_replayed_engage_is_refused_even_after_a_local_reset() {
    let mut r = rig();
    let engage = payload(Action::Engage, 5, T0);
    r.send(&engage, T0).unwrap();
    r.local_reset();
    assert!(matches!(r.send(&engage, T0 + 1_000), Err(RemoteKillError::Replay(ReplayError::Replayed { .. }))));
    assert!(!r.latch.is_engaged(), "the replay did not stop the robot again");
    assert_eq!(r.last_refusal(), "replayed");
    let lower = payload(Action::Engage, 4, T0 + 1_000);
    assert!(matches!(
        r.send(&lower, T0 + 1_000),
        Err(RemoteKillError::Replay(ReplayError::Replayed { counter: 4, high_water: 5, .. }))
    ));
    assert!(!r.latch.is_engaged());
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    let mut r = rig();
    let old = payload(Action::Engage, 1, T0 - 30_001);
    assert!(matches!(r.send(&old, T0), Err(RemoteKillError::Replay(ReplayError::Stale { .. }))));
    assert_eq!(r.last_refusal(), "stale");
    let ahead = payload(Action::Engage, 2, T0 + 30_001);
    assert!(matches!(r.send(&ahead, T0), Err(RemoteKillError::Replay(ReplayError::FromFuture { .. }))));
    assert_eq!(r.last_refusal(), "from_future");
    assert!(!r.latch.is_engaged());
    // Just inside the window either way is accepted.
    assert!(r.send(&payload(Action::Engage, 3, T0 - 30_000), T0).is_ok());
}

#[test]
fn a_configured_window_replaces_the_default() {
    let mut r = rig();
    r.kill = RemoteKill::new(ROBOT, key(), r.latch.clone(), Box::new(MemoryStore::default()))
        .unwrap()
        .with_window(TimeWindow { past: Duration::from_secs(5), future: Duration::from_secs(1) });
    assert!(matches!(r.send(&payload(Action::Engage, 1, T0 - 5_001), T0), Err(RemoteKillError::Replay(_))));
    assert!(matches!(r.send(&payload(Action::Engage, 2, T0 + 1_001), T0), Err(RemoteKillError::Replay(_))));
    assert!(r.send(&payload(Action::Engage, 3, T0 - 5_000), T0).is_ok());
}

#[test]
fn a_message_for_another_robot_is_refused() {
    let mut r = rig();
    let other = payload_with(&key(), "sim-rover-2", Action::Engage, 1, T0, "console");
    assert!(matches!(r.send(&other, T0), Err(RemoteKillError::WrongRobot { .. })));
    assert_eq!(r.last_refusal(), "wrong_robot");
    let ours = payload(Action::Engage, 1, T0);
    assert!(matches!(
        r.kill.handle("sim-rover-2", &ours, now(T0), &mut r.rec),
        Err(RemoteKillError::WrongTopic { .. })
    ));
    assert_eq!(r.last_refusal(), "wrong_topic");
    assert!(!r.latch.is_engaged());
}

#[test]
fn oversize_and_malformed_payloads_are_refused_and_logged() {
    let mut r = rig();
    let mut big = payload(Action::Engage, 1, T0);
    big.resize(MAX_MESSAGE_BYTES + 1, b' ');
    assert!(matches!(r.send(&big, T0), Err(RemoteKillError::Message(MessageError::Oversize { .. }))));
    assert_eq!(r.last_refusal(), "oversize");
    assert!(matches!(r.send(b"{\"robot_id\":", T0), Err(RemoteKillError::Message(MessageError::Malformed(_)))));
    assert_eq!(r.last_refusal(), "malformed");
    assert!(!r.latch.is_engaged());
    assert_eq!(r.rec.records().len(), 2);
}

#[test]
fn a_release_while_the_line_is_pressed_is_refused_and_cannot_be_replayed_later() {
    let mut r = rig();
    r.latch.observe_line(true);
    r.latch.engage(Cause::Line);
    let release = payload(Action::Release, 1, T0);
    assert!(matches!(r.send(&release, T0), Err(RemoteKillError::LinePressed { .. })));
    assert!(r.latch.is_engaged());
    assert_eq!(r.last_refusal(), "line_pressed");
    // The line is released: the same message, sent again, does not count.
    r.latch.observe_line(false);
    assert!(matches!(r.send(&release, T0 + 100), Err(RemoteKillError::Replay(_))));
    assert!(r.latch.is_engaged());
    // A fresh release does.
    let out = r.send(&payload(Action::Release, 2, T0 + 100), T0 + 100).unwrap();
    assert_eq!(out, KillOutcome::Released { issuer: "console".into(), counter: 2, persisted: true });
    assert!(!r.latch.is_engaged());
}

#[test]
fn a_release_waits_for_the_line_debounce() {
    let stop = Arc::new(Stop::default());
    let latch = Latch::new(vec![stop as Arc<dyn SafeStop>], Duration::from_secs(3600));
    let mut kill = RemoteKill::new(ROBOT, key(), latch.clone(), Box::new(MemoryStore::default())).unwrap();
    latch.observe_line(true);
    latch.engage(Cause::Line);
    latch.observe_line(false);
    let mut rec = Recorder::memory();
    let res = kill.handle(ROBOT, &payload(Action::Release, 1, T0), now(T0), &mut rec);
    assert!(matches!(res, Err(RemoteKillError::NotResettable { .. })), "{res:?}");
    assert!(latch.is_engaged());
}

#[test]
fn a_release_only_rearms_and_the_robot_stays_still() {
    let board = BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml")).unwrap();
    let sim = Sim::from_board(&board).unwrap();
    let latch = Latch::new(sim.safe_stops(), Duration::ZERO);
    let mut kill = RemoteKill::new(ROBOT, key(), latch.clone(), Box::new(MemoryStore::default())).unwrap();
    let mut rec = Recorder::memory();
    let mut drive = sim.devices().drive;
    let clock = sim.clock();

    let start = sim.truth();
    drive.set_wheel_speeds(0.2, 0.2).unwrap();
    clock.sleep(Duration::from_secs(1));
    let moving = sim.truth();
    assert!((moving.x - start.x).hypot(moving.y - start.y) > 0.1, "the rover was driving");

    kill.handle(ROBOT, &payload(Action::Engage, 1, T0), now(T0), &mut rec).unwrap();
    assert!(drive.set_wheel_speeds(0.2, 0.2).is_err(), "writes are refused while stopped");
    clock.sleep(Duration::from_millis(500));
    let stopped = sim.truth();

    let out = kill.handle(ROBOT, &payload(Action::Release, 2, T0 + 1_000), now(T0 + 1_000), &mut rec).unwrap();
    assert!(matches!(out, KillOutcome::Released { .. }));
    clock.sleep(Duration::from_secs(5));
    let after = sim.truth();
    assert_eq!((after.x, after.y, after.heading_deg), (stopped.x, stopped.y, stopped.heading_deg), "nothing moved");
    // Rearmed: a new, deliberate command works again.
    drive.set_wheel_speeds(0.1, 0.1).unwrap();
}

#[test]
fn a_release_with_nothing_engaged_changes_nothing() {
    let mut r = rig();
    let out = r.send(&payload(Action::Release, 1, T0), T0).unwrap();
    assert_eq!(out, KillOutcome::NotEngaged { issuer: "console".into(), counter: 1 });
    assert_eq!(r.stop.rearmed.load(Ordering::SeqCst), 0);
    assert_eq!(r.stop.forced.load(Ordering::SeqCst), 0);
}

#[test]
fn a_restart_keeps_the_marks_and_comes_back_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kill-replay.json");
    let engage = payload(Action::Engage, 10, T0);
    {
        let mut r = rig_with(Box::new(FileStore::new(&path)));
        r.send(&engage, T0).unwrap();
    }
    // The process restarts: a fresh latch, the same file.
    let mut r = rig_with(Box::new(FileStore::new(&path)));
    assert!(r.latch.is_engaged(), "a standing remote stop survives the restart");
    assert_eq!(r.latch.cause(), Some(Cause::Remote));
    assert_eq!(r.kill.restored_engage(), Some(&StandingEngage { issuer: "console".into(), counter: 10 }));
    assert!(matches!(r.send(&engage, T0 + 1), Err(RemoteKillError::Replay(_))), "old message still refused");
    r.send(&payload(Action::Release, 11, T0 + 2), T0 + 2).unwrap();
    assert!(!r.latch.is_engaged());
    drop(r);
    let r = rig_with(Box::new(FileStore::new(&path)));
    assert!(!r.latch.is_engaged(), "a released stop stays released after a restart");
    assert_eq!(r.kill.state().high_water("console"), 11);
}

/// A store whose saves fail once `broken` is set.
struct FlakyStore {
    inner: MemoryStore,
    broken: Arc<AtomicBool>,
}

impl ReplayStore for FlakyStore {
    fn load(&mut self) -> Result<ReplayState, StoreError> {
        self.inner.load()
    }
    fn save(&mut self, state: &ReplayState) -> Result<(), StoreError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(StoreError::Io { path: "flaky".into(), source: std::io::Error::other("disk full") });
        }
        self.inner.save(state)
    }
}

#[test]
fn a_store_failure_still_stops_but_refuses_to_release() {
    let broken = Arc::new(AtomicBool::new(true));
    let mut r = rig_with(Box::new(FlakyStore { inner: MemoryStore::default(), broken: broken.clone() }));
    let out = r.send(&payload(Action::Engage, 1, T0), T0).unwrap();
    assert!(matches!(out, KillOutcome::Engaged { persisted: false, .. }));
    assert!(r.latch.is_engaged());
    assert!(matches!(r.send(&payload(Action::Release, 2, T0), T0), Err(RemoteKillError::Store { .. })));
    assert!(r.latch.is_engaged());
    assert_eq!(r.last_refusal(), "store_failed");
    broken.store(false, Ordering::SeqCst);
    assert!(r.send(&payload(Action::Release, 3, T0), T0).is_ok());
}

#[test]
fn an_unusable_robot_id_or_store_stops_the_handler_from_starting() {
    let latch = Latch::new(Vec::new(), Duration::ZERO);
    let bad_id = RemoteKill::new("rover 1", key(), latch.clone(), Box::new(MemoryStore::default()));
    assert!(matches!(bad_id, Err(SetupError::InvalidRobotId(_))));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, b"not json").unwrap();
    let bad_store = RemoteKill::new(ROBOT, key(), latch, Box::new(FileStore::new(path)));
    assert!(matches!(bad_store, Err(SetupError::Store(StoreError::Corrupt { .. }))));
}

#[test]
fn a_flood_of_refusals_is_logged_at_a_bounded_rate() {
    let mut r = rig();
    for i in 0..500 {
        let _ = r.send(b"garbage", T0 + i);
    }
    assert_eq!(r.rec.records().len(), MAX_LOGGED_REFUSALS_PER_MINUTE as usize);
    let _ = r.send(b"garbage", T0 + 60_000);
    match r.last_event() {
        Event::RemoteRefused { suppressed, .. } => {
            assert_eq!(*suppressed, 500 - u64::from(MAX_LOGGED_REFUSALS_PER_MINUTE))
        }
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes are refused without a panic and without touching the latch.
    #[test]
    fn random_bytes_never_panic_nor_act(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut r = rig();
        prop_assert!(r.send(&bytes, T0).is_err());
        prop_assert!(!r.latch.is_engaged());
        prop_assert_eq!(r.stop.forced.load(Ordering::SeqCst), 0);
    }

    /// A valid message with bytes changed is either refused or (a change the
    /// signature does not cover, such as a hex digit's case) carries exactly
    /// the signed fields.
    #[test]
    fn a_tampered_message_is_refused_unless_its_fields_are_unchanged(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        release in any::<bool>(),
    ) {
        let action = if release { Action::Release } else { Action::Engage };
        let original = payload(action, 7, T0);
        let mut bytes = original.clone();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let mut r = rig();
        r.latch.engage(Cause::Software);
        let res = r.send(&bytes, T0);
        if res.is_ok() {
            let a = KillMessage::parse(&original).unwrap();
            let b = KillMessage::parse(&bytes).unwrap();
            prop_assert_eq!(
                (a.robot_id, a.action, a.counter, a.timestamp_ms, a.issuer),
                (b.robot_id, b.action, b.counter, b.timestamp_ms, b.issuer)
            );
        } else {
            prop_assert!(r.latch.is_engaged());
        }
    }

    /// For any sequence of authentic messages, one is accepted exactly when
    /// its counter is above every earlier accepted one and its timestamp is
    /// within the window.
    #[test]
    fn authentic_messages_are_accepted_exactly_when_fresh(
        msgs in proptest::collection::vec((1u64..20, -40_000i64..40_000, any::<bool>()), 1..30),
    ) {
        let mut r = rig();
        let mut high = 0u64;
        for (counter, skew, release) in msgs {
            let action = if release { Action::Release } else { Action::Engage };
            let ts = T0.saturating_add_signed(skew);
            let res = r.send(&payload(action, counter, ts), T0);
            let fresh = counter > high && skew.unsigned_abs() <= 30_000;
            prop_assert_eq!(res.is_ok(), fresh, "counter {} skew {} high {}: {:?}", counter, skew, high, res);
            if fresh {
                high = counter;
                prop_assert_eq!(r.latch.is_engaged(), !release);
            }
        }
    }
}
