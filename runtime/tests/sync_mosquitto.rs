//! Memory sync through a real Mosquitto broker (persistence on) under
//! faults: the broker killed with SIGKILL and restarted mid-sync 20 times,
//! and the broker down for a long stretch while the robot keeps recording.
//! Each asserts zero lost and zero doubly-applied records: the host's mirror
//! holds exactly the robot's outbox numbers and every insert was new. Also:
//! two host instances sharing one database behind an MQTT 5 shared
//! subscription, as docs/sync.md describes ("Several hosts").
//! Skipped with a notice when mosquitto is not installed.

mod sync_support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use robot_runtime::host::{HostConfig, HostDaemon, HostDb};
use robot_runtime::memory::{MemoryStore, NoteKind, StoreConfig};
use robot_runtime::sync::{BrokerConfig, Outbox, RobotLink};
use sync_support::*;

struct Fixture {
    _dir: tempfile::TempDir,
    broker: Mosquitto,
    store: MemoryStore,
    memory: std::path::PathBuf,
    host_db: std::path::PathBuf,
}

fn fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path())?;
    let memory = dir.path().join("robot.db");
    let store =
        MemoryStore::open_with(&memory, StoreConfig { robot_id: "rover-m".into(), ..Default::default() }).unwrap();
    let host_db = dir.path().join("host.db");
    Some(Fixture { _dir: dir, broker, store, memory, host_db })
}

fn start_host(f: &Fixture) -> HostDaemon {
    let mut broker = BrokerConfig::parse(&f.broker.url()).unwrap();
    broker.keep_alive = Duration::from_secs(1);
    let mut c = HostConfig::new(broker, &f.host_db);
    c.backoff = fast_backoff();
    HostDaemon::start(c).unwrap()
}

/// The robot writes notes on its own thread until told to stop.
fn writer(
    store: MemoryStore,
    link_kick: impl Fn() + Send + 'static,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            store.add_note(NoteKind::Note, &format!("note {n}"), 1_000 * n).unwrap();
            n += 1;
            link_kick();
            std::thread::sleep(Duration::from_millis(3));
        }
        n
    })
}

fn assert_zero_lost_zero_doubled(f: &Fixture, written: u64, host: &HostDaemon) {
    let epoch = Outbox::open(&f.memory, 0).unwrap().epoch();
    let db = HostDb::open(&f.host_db).unwrap();
    let want: Vec<i64> = f.store.notes(None, usize::MAX).unwrap().iter().rev().map(|n| n.outbox_seq).collect();
    assert_eq!(want.len() as u64, written);
    let got = db.record_seqs("rover-m", epoch).unwrap();
    assert_eq!(got.len(), want.len(), "lost records: host has {} of {}", got.len(), want.len());
    assert_eq!(got, want, "host mirror differs from the robot");
    let st = host.status();
    assert_eq!(st.conflicts, 0, "a record was applied twice");
    assert_eq!(st.records_new, written, "every record inserted exactly once: {st:?}");
}

#[test]
fn broker_killed_and_restarted_20_times_mid_sync() {
    let Some(mut f) = fixture() else { return };
    let host = start_host(&f);
    let link = Arc::new(RobotLink::start(fast_link(&f.broker.url(), &f.memory, 1), Arc::new(NoKill)).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let kick = {
        let link = link.clone();
        move || link.memory_changed()
    };
    let w = writer(f.store.clone(), kick, stop.clone());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
    let mut at_kill = Vec::new();
    // Under emulation (tests/aarch64.sh) reconnecting and acknowledging take
    // several times longer, and 60 ms between kills left the link too
    // little time to make progress; the faults stay the same.
    let slow = if std::env::var_os("ROBOT_UNDER_QEMU").is_some() { 4 } else { 1 };
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(slow * rng.gen_range(60..160)));
        let s = link.status();
        at_kill.push((s.acked, s.last_seq));
        f.broker.kill9();
        std::thread::sleep(Duration::from_millis(rng.gen_range(10..60)));
        f.broker.restart();
    }
    stop.store(true, Ordering::Relaxed);
    let written = w.join().unwrap();
    let last = f.store.last_seq().unwrap();
    let (st, done) = link.wait_status(Duration::from_secs(30), |s| s.acked == last);
    assert!(done, "not all acknowledged after the faults: {st:?}");
    assert!(st.connects >= 20, "the link reconnected after every kill: {st:?}");
    // "Mid-sync": records were outstanding at (nearly) every kill, and acks
    // kept advancing across the series rather than only after it.
    assert!(at_kill.iter().filter(|(acked, last)| last > acked).count() >= 18, "{at_kill:?}");
    assert!(at_kill.windows(2).filter(|w| w[1].0 > w[0].0).count() >= 8, "sync stalled: {at_kill:?}");
    let _ = Arc::try_unwrap(link).map(|l| l.stop().unwrap());
    assert_zero_lost_zero_doubled(&f, written, &host);
    host.stop().unwrap();
}

#[test]
fn broker_down_for_a_long_stretch_while_the_robot_keeps_recording() {
    // The issue asks for 30 s; CI sets ROBOT_SYNC_OUTAGE_S=30, local runs
    // default to 5 s to keep the suite quick. The property is the same.
    let outage = std::env::var("ROBOT_SYNC_OUTAGE_S").ok().and_then(|s| s.parse().ok()).unwrap_or(5u64);
    let Some(mut f) = fixture() else { return };
    let host = start_host(&f);
    let link = Arc::new(RobotLink::start(fast_link(&f.broker.url(), &f.memory, 2), Arc::new(NoKill)).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let kick = {
        let link = link.clone();
        move || link.memory_changed()
    };
    let w = writer(f.store.clone(), kick, stop.clone());
    assert!(eventually(Duration::from_secs(10), || link.status().acked > 0), "{:?}", link.status());
    f.broker.kill9();
    let acked_at_kill = link.status().acked;
    let written_before = f.store.last_seq().unwrap();
    std::thread::sleep(Duration::from_secs(outage));
    let st = link.status();
    assert!(!st.connected, "no broker, no connection: {st:?}");
    let recorded_offline = f.store.last_seq().unwrap() - written_before;
    assert!(recorded_offline > 100, "the robot kept recording offline ({recorded_offline})");
    assert!(st.acked <= acked_at_kill + 64, "nothing is acked without a broker");
    f.broker.restart();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let written = w.join().unwrap();
    let last = f.store.last_seq().unwrap();
    let (st, done) = link.wait_status(Duration::from_secs(30), |s| s.acked == last);
    assert!(done, "backlog not delivered: {st:?}");
    let _ = Arc::try_unwrap(link).map(|l| l.stop().unwrap());
    assert_zero_lost_zero_doubled(&f, written, &host);
    host.stop().unwrap();
}

#[test]
fn robot_restart_resumes_and_offline_status_is_retained() {
    let Some(f) = fixture() else { return };
    let host = start_host(&f);
    for i in 0..50u64 {
        f.store.add_note(NoteKind::Note, &format!("before {i}"), i).unwrap();
    }
    let link = RobotLink::start(fast_link(&f.broker.url(), &f.memory, 3), Arc::new(NoKill)).unwrap();
    let (st, done) = link.wait_status(Duration::from_secs(10), |s| s.acked == 50);
    assert!(done, "{st:?}");
    let sent_first = st.batches_sent;
    link.stop().unwrap();
    let db = HostDb::open(&f.host_db).unwrap();
    assert!(eventually(Duration::from_secs(5), || db
        .robots()
        .unwrap()
        .first()
        .is_some_and(|r| r.presence == "offline")));
    for i in 0..30u64 {
        f.store.add_note(NoteKind::Note, &format!("after {i}"), 100 + i).unwrap();
    }
    let link = RobotLink::start(fast_link(&f.broker.url(), &f.memory, 999), Arc::new(NoKill)).unwrap();
    let (st, done) = link.wait_status(Duration::from_secs(10), |s| s.acked == 80);
    assert!(done, "{st:?}");
    // 30 new records in batches of at most 16: two batches, not a resend of all 80.
    assert!(st.batches_sent <= 3, "resumed from the ack, sent {} batches (first run {sent_first})", st.batches_sent);
    link.stop().unwrap();
    assert_zero_lost_zero_doubled(&f, 80, &host);
    host.stop().unwrap();
}

#[test]
fn two_hosts_share_the_load_through_a_shared_subscription() {
    let Some(f) = fixture() else { return };
    let hosts: Vec<HostDaemon> = ["host-a", "host-b"]
        .into_iter()
        .map(|id| {
            let mut broker = BrokerConfig::parse(&f.broker.url()).unwrap();
            broker.keep_alive = Duration::from_secs(1);
            let mut c = HostConfig::new(broker, &f.host_db);
            c.backoff = fast_backoff();
            c.client_id = id.into();
            c.share_group = Some("hosts".into());
            HostDaemon::start(c).unwrap()
        })
        .collect();
    assert!(eventually(Duration::from_secs(10), || hosts.iter().all(|h| h.status().connected)));
    let link = Arc::new(RobotLink::start(fast_link(&f.broker.url(), &f.memory, 4), Arc::new(NoKill)).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let kick = {
        let link = link.clone();
        move || link.memory_changed()
    };
    let w = writer(f.store.clone(), kick, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let written = w.join().unwrap();
    let last = f.store.last_seq().unwrap();
    let (st, done) = link.wait_status(Duration::from_secs(30), |s| s.acked == last);
    assert!(done, "not all acknowledged: {st:?}");
    let _ = Arc::try_unwrap(link).map(|l| l.stop().unwrap());
    let statuses: Vec<_> = hosts.iter().map(HostDaemon::status).collect();
    // Each batch went to one member of the group; both did work.
    assert!(statuses.iter().all(|s| s.batches > 0), "the load was not shared: {statuses:?}");
    assert_eq!(statuses.iter().map(|s| s.conflicts).sum::<u64>(), 0);
    assert_eq!(statuses.iter().map(|s| s.records_new).sum::<u64>(), written, "{statuses:?}");
    let epoch = Outbox::open(&f.memory, 0).unwrap().epoch();
    let want: Vec<i64> = f.store.notes(None, usize::MAX).unwrap().iter().rev().map(|n| n.outbox_seq).collect();
    assert_eq!(HostDb::open(&f.host_db).unwrap().record_seqs("rover-m", epoch).unwrap(), want);
    for h in hosts {
        h.stop().unwrap();
    }
}

struct NoKill;

impl robot_runtime::sync::KillSink for NoKill {
    fn deliver(&self, _robot_id: &str, _payload: &[u8]) {
        KILLS.fetch_add(1, Ordering::Relaxed);
    }
}

static KILLS: AtomicU64 = AtomicU64::new(0);
