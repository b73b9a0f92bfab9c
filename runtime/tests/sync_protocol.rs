//! The sync protocol end to end without a broker: a robot's real memory
//! file and outbox, the host's real database, and a network in between that
//! drops, duplicates and reorders messages (seeded, so a failure replays).
//! Asserts the issue's guarantees: zero lost, zero doubly applied, resume
//! from the last ack after a restart, and the last-writer-wins place merge.
//! A property test drives the state machines alone (no SQLite, so thousands
//! of schedules run) through random duplicates, reorders, losses and
//! reconnects of both batches and acks.

use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use robot_hal::Pose;
use robot_runtime::host::HostDb;
use robot_runtime::memory::{MemoryStore, NoteKind, PlaceSource, Retention, StoreConfig};
use robot_runtime::sync::protocol::{RobotSync, RobotSyncConfig, Verdict};
use robot_runtime::sync::wire::{self, MemoryAck, MemoryDown, MemoryUp, WIRE_VERSION};
use robot_runtime::sync::Outbox;

fn store(dir: &std::path::Path, robot: &str) -> (MemoryStore, std::path::PathBuf) {
    let path = dir.join(format!("{robot}.db"));
    let cfg = StoreConfig { robot_id: robot.into(), retention: Retention::default() };
    (MemoryStore::open_with(&path, cfg).unwrap(), path)
}

fn cfg() -> RobotSyncConfig {
    RobotSyncConfig { window: 3, batch_records: 7, batch_bytes: 4096, ack_timeout: Duration::from_millis(50) }
}

/// Everything the host holds must be exactly what the robot has, once.
fn assert_mirrored(host: &HostDb, store: &MemoryStore, outbox: &Outbox) {
    let mut want: Vec<i64> = store.notes(None, usize::MAX).unwrap().iter().map(|n| n.outbox_seq).collect();
    want.extend(store.places().unwrap().iter().map(|p| p.outbox_seq));
    want.extend(store.objects(&Default::default()).unwrap().iter().map(|o| o.outbox_seq));
    want.sort();
    let got = host.record_seqs(store.robot_id(), outbox.epoch()).unwrap();
    assert_eq!(got, want, "host mirror differs from the robot's memory");
}

struct Net {
    rng: ChaCha8Rng,
    up: Vec<Vec<u8>>,
    down: Vec<Vec<u8>>,
}

impl Net {
    /// Deliver in random order, sometimes twice, sometimes not at all.
    fn scramble(&mut self, msgs: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for m in msgs {
            let roll: f64 = self.rng.gen();
            if roll < 0.15 {
                continue;
            }
            if roll > 0.75 {
                out.push(m.clone());
            }
            out.push(m);
        }
        out.shuffle(&mut self.rng);
        out
    }
}

/// Drive robot and host over the faulty network until everything is acked;
/// returns (records applied as new, steps taken).
fn run_until_synced(
    sm: &mut RobotSync,
    outbox: &mut Outbox,
    host: &mut HostDb,
    net: &mut Net,
    now: &mut u64,
    store: &MemoryStore,
) -> (usize, usize) {
    let mut new = 0;
    for step in 0..10_000 {
        *now += 10;
        sm.on_tick(*now);
        sm.note_last_seq(outbox.last_seq().unwrap());
        while let Some(after) = sm.want_batch() {
            let c = sm.config();
            let b = outbox.read_batch(after, c.batch_records, c.batch_bytes).unwrap();
            let Some(up) = sm.on_batch(b, *now) else { break };
            net.up.push(wire::encode(&up).unwrap());
        }
        let ups = std::mem::take(&mut net.up);
        for m in net.scramble(ups) {
            let up: MemoryUp = wire::decode(&m).unwrap();
            let a = host.apply_up(store.robot_id(), &up, 0).unwrap();
            assert_eq!(a.conflicts, 0);
            new += a.new_records;
            net.down.push(wire::encode(&a.ack).unwrap());
        }
        let downs = std::mem::take(&mut net.down);
        for m in net.scramble(downs) {
            let ack: MemoryAck = wire::decode(&m).unwrap();
            if let Some(t) = sm.on_ack(&ack, *now) {
                outbox.set_acked(t).unwrap();
            }
        }
        if sm.acked() == outbox.last_seq().unwrap() && sm.in_flight() == 0 {
            return (new, step);
        }
    }
    panic!("did not converge: acked {} of {}", sm.acked(), outbox.last_seq().unwrap());
}

#[test]
fn lossy_duplicating_reordering_network_loses_and_doubles_nothing() {
    for seed in 0..8u64 {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = store(dir.path(), "rover-1");
        for i in 0..120u64 {
            store.add_note(NoteKind::Note, &format!("note {i}"), 1_000 * i).unwrap();
            if i % 10 == 0 {
                // Moving a place again supersedes its old number: a gap the
                // batches must cover.
                store.remember_place("dock", Pose::new(i as f64, 0.0, 0.0), 1_000 * i).unwrap();
            }
        }
        let mut outbox = Outbox::open(&path, 1).unwrap();
        let mut sm = RobotSync::new(cfg(), "rover-1", outbox.epoch(), 0, outbox.last_seq().unwrap());
        sm.on_connected(0);
        let mut host = HostDb::in_memory().unwrap();
        let mut net = Net { rng: ChaCha8Rng::seed_from_u64(seed), up: vec![], down: vec![] };
        let mut now = 0;
        let (new, _) = run_until_synced(&mut sm, &mut outbox, &mut host, &mut net, &mut now, &store);
        assert_eq!(new, 121, "seed {seed}: 120 notes and the latest dock, each applied once");
        assert_mirrored(&host, &store, &outbox);
        assert_eq!(host.held_through("rover-1", outbox.epoch()).unwrap(), outbox.last_seq().unwrap());
    }
}

#[test]
fn restart_resumes_from_the_last_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = store(dir.path(), "rover-2");
    for i in 0..40u64 {
        store.add_note(NoteKind::Note, &format!("first {i}"), i).unwrap();
    }
    let mut host = HostDb::in_memory().unwrap();
    let mut net = Net { rng: ChaCha8Rng::seed_from_u64(9), up: vec![], down: vec![] };
    let mut now = 0;
    {
        let mut outbox = Outbox::open(&path, 77).unwrap();
        let mut sm = RobotSync::new(cfg(), "rover-2", outbox.epoch(), outbox.acked().unwrap(), 40);
        sm.on_connected(0);
        run_until_synced(&mut sm, &mut outbox, &mut host, &mut net, &mut now, &store);
        assert_eq!(outbox.acked().unwrap(), 40);
    }
    for i in 0..25u64 {
        store.add_note(NoteKind::Note, &format!("second {i}"), 100 + i).unwrap();
    }
    // "Restart": a new outbox and state machine from the file alone. The
    // epoch argument is ignored for a file that already has one.
    let mut outbox = Outbox::open(&path, 12345).unwrap();
    assert_eq!(outbox.epoch(), 77);
    let mut sm = RobotSync::new(cfg(), "rover-2", outbox.epoch(), outbox.acked().unwrap(), outbox.last_seq().unwrap());
    sm.on_connected(now);
    let first = sm.want_batch().unwrap();
    assert_eq!(first, 40, "resumes after the last ack, not from the start");
    let c = sm.config();
    let b = outbox.read_batch(first, c.batch_records, c.batch_bytes).unwrap();
    assert_eq!(b.records.first().map(|r| r.seq), Some(41));
    let (new, _) = run_until_synced(&mut sm, &mut outbox, &mut host, &mut net, &mut now, &store);
    assert_eq!(new, 25);
    assert_mirrored(&host, &store, &outbox);
}

#[test]
fn replaying_every_batch_twice_in_reverse_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = store(dir.path(), "rover-3");
    for i in 0..30u64 {
        store.add_note(NoteKind::Preference, &format!("pref {i}"), i).unwrap();
    }
    let mut outbox = Outbox::open(&path, 5).unwrap();
    let mut batches = Vec::new();
    let mut after = 0;
    loop {
        let b = outbox.read_batch(after, 4, 1 << 20).unwrap();
        if b.through_seq <= after {
            break;
        }
        after = b.through_seq;
        batches.push(MemoryUp {
            v: WIRE_VERSION,
            robot_id: "rover-3".into(),
            epoch: 5,
            from_seq: b.from_seq,
            through_seq: b.through_seq,
            records: b.records,
        });
    }
    assert_eq!(batches.len(), 8);
    let mut host = HostDb::in_memory().unwrap();
    // Reversed: every batch but the first is a gap until its predecessor lands.
    let mut gaps = 0;
    let mut new = 0;
    for b in batches.iter().rev() {
        let a = host.apply_up("rover-3", b, 0).unwrap();
        if a.verdict == Verdict::Gap {
            gaps += 1;
            assert_eq!(a.new_records, 0, "a gap is never applied");
        }
        new += a.new_records;
    }
    assert_eq!((gaps, new), (7, 4), "only the first batch could be applied");
    assert_eq!(host.held_through("rover-3", 5).unwrap(), 4);
    for b in batches.iter().chain(batches.iter()) {
        let a = host.apply_up("rover-3", b, 0).unwrap();
        assert_eq!(a.conflicts, 0);
        new += a.new_records;
    }
    assert_eq!(new, 30, "the other 26 once, however often they came");
    assert_mirrored(&host, &store, &outbox);
    // A batch claiming another robot's id on this robot's topic is refused.
    assert!(host.apply_up("rover-9", &batches[0], 0).is_err());
}

#[test]
fn places_merge_last_writer_wins_and_board_places_stay() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a_path) = store(dir.path(), "rover-a");
    let (b, b_path) = store(dir.path(), "rover-b");
    a.remember_place("kitchen", Pose::new(1.0, 1.0, 0.0), 1_000_000).unwrap();
    b.remember_place("kitchen", Pose::new(2.0, 2.0, 90.0), 2_000_000).unwrap();
    b.put_place("dock", Pose::new(0.0, 0.0, 0.0), false, PlaceSource::Board, 0).unwrap();
    let mut host = HostDb::in_memory().unwrap();
    let mut ob_a = Outbox::open(&a_path, 1).unwrap();
    let mut ob_b = Outbox::open(&b_path, 2).unwrap();
    let up = |ob: &mut Outbox, id: &str| {
        let bt = ob.read_batch(ob.acked().unwrap(), 100, 1 << 20).unwrap();
        MemoryUp {
            v: WIRE_VERSION,
            robot_id: id.into(),
            epoch: ob.epoch(),
            from_seq: bt.from_seq,
            through_seq: bt.through_seq,
            records: bt.records,
        }
    };
    // B's later write arrives first; A's older one must not replace it.
    let applied = host.apply_up("rover-b", &up(&mut ob_b, "rover-b"), 0).unwrap();
    ob_b.set_acked(applied.ack.through_seq).unwrap();
    assert_eq!(applied.fleet_changes.len(), 1, "kitchen is shared, the board dock is not");
    let applied = host.apply_up("rover-a", &up(&mut ob_a, "rover-a"), 0).unwrap();
    ob_a.set_acked(applied.ack.through_seq).unwrap();
    assert!(applied.fleet_changes.is_empty(), "an older write loses");
    let fleet = host.fleet_places().unwrap();
    assert_eq!(fleet.len(), 1);
    assert_eq!((fleet[0].x, fleet[0].origin.as_str()), (2.0, "rover-b"));

    // Down to A: replaces A's older kitchen; a second delivery is a no-op.
    let down = wire::encode(&MemoryDown { v: WIRE_VERSION, places: fleet.clone() }).unwrap();
    let down: MemoryDown = wire::decode(&down).unwrap();
    assert_eq!(ob_a.merge_places(&down.places, 100).unwrap().applied, 1);
    assert_eq!(ob_a.merge_places(&down.places, 100).unwrap().applied, 0);
    let k = a.place("kitchen").unwrap().unwrap();
    assert_eq!((k.pose.x, k.source, k.hlc), (2.0, PlaceSource::Fleet, fleet[0].hlc));
    // A's next local write is ordered after the clock it saw.
    let note = a.add_note(NoteKind::Note, "after merge", 0).unwrap();
    assert!(note.hlc > fleet[0].hlc);
    // The merged copy goes up again (it took a new number) and changes nothing.
    let echo = host.apply_up("rover-a", &up(&mut ob_a, "rover-a"), 0).unwrap();
    assert!(echo.new_records >= 1 && echo.fleet_changes.is_empty());

    // A fleet place named like a board place, or with junk numbers, is refused.
    let mut bad = fleet[0].clone();
    bad.name = "dock".into();
    bad.hlc.wall_ms += 10_000;
    let mut nan = fleet[0].clone();
    nan.name = "nan".into();
    nan.x = f64::NAN;
    let out = ob_b.merge_places(&[bad, nan], 100).unwrap();
    assert_eq!(out.refused, 2);
    assert_eq!(b.place("dock").unwrap().unwrap().source, PlaceSource::Board);
}

#[test]
fn oversize_records_go_up_as_markers() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = store(dir.path(), "rover-4");
    store.add_note(NoteKind::Note, &"x".repeat(wire::MAX_RECORD_BYTES + 10), 1).unwrap();
    store.add_note(NoteKind::Note, "small", 2).unwrap();
    let mut outbox = Outbox::open(&path, 1).unwrap();
    let b = outbox.read_batch(0, 10, 1 << 20).unwrap();
    assert_eq!((b.records.len(), b.through_seq), (2, 2));
    let tagged = serde_json::to_value(&b.records[0]).unwrap();
    assert_eq!(tagged["kind"], "oversize");
    // A byte budget smaller than one record still sends one record per batch.
    let b = outbox.read_batch(0, 10, 1).unwrap();
    assert_eq!((b.records.len(), b.through_seq), (1, 1));
}

mod schedules {
    //! The robot's state machine and the host's rule (`validate`, `classify`,
    //! `ack`) against a model outbox and a model host, over a network whose
    //! every decision comes from proptest: which message is delivered next
    //! (reordering), whether it stays queued to come again (duplication),
    //! whether it is dropped, and when the link breaks and reconnects.

    use std::collections::BTreeMap;
    use std::time::Duration;

    use proptest::prelude::*;
    use robot_runtime::memory::{Hlc, NoteKind};
    use robot_runtime::sync::protocol::{self, OutboxBatch, RobotSync, RobotSyncConfig, Verdict};
    use robot_runtime::sync::wire::{MemoryAck, MemoryUp, Record, RecordBody};

    /// The records that exist on the robot (numbers missing from 1..=last
    /// were superseded or deleted by retention) and the interval rule of
    /// `Outbox::read_batch`.
    struct ModelOutbox {
        present: Vec<i64>,
        last: i64,
    }

    impl ModelOutbox {
        fn read(&self, after: i64, max: usize) -> OutboxBatch {
            let records: Vec<Record> = self
                .present
                .iter()
                .filter(|s| **s > after)
                .take(max)
                .map(|&seq| Record {
                    seq,
                    hlc: Hlc { wall_ms: seq as u64, counter: 0 },
                    uid: format!("r:{seq}"),
                    body: RecordBody::Note { note_kind: NoteKind::Note, text: seq.to_string(), created_at_us: 0 },
                })
                .collect();
            let complete = self.present.iter().filter(|s| **s > after).count() <= max;
            let through = match (complete, records.last()) {
                (false, Some(r)) => r.seq,
                _ => self.last.max(after),
            };
            OutboxBatch { from_seq: after, through_seq: through, records }
        }
    }

    #[derive(Default)]
    struct ModelHost {
        held: i64,
        applied: BTreeMap<i64, u32>,
    }

    impl ModelHost {
        fn receive(&mut self, up: &MemoryUp) -> MemoryAck {
            protocol::validate("r", up).expect("the robot only sends well-formed batches");
            if let Verdict::Apply { held_through, new_through } = protocol::classify(self.held, up) {
                for r in up.records.iter().filter(|r| r.seq > held_through) {
                    *self.applied.entry(r.seq).or_default() += 1;
                }
                self.held = new_through;
            }
            protocol::ack(up.epoch, self.held)
        }
    }

    struct World {
        robot: RobotSync,
        cursor: i64,
        outbox: ModelOutbox,
        host: ModelHost,
        up: Vec<MemoryUp>,
        down: Vec<MemoryAck>,
        now: u64,
    }

    impl World {
        fn pump(&mut self) {
            self.robot.on_tick(self.now);
            while let Some(after) = self.robot.want_batch() {
                let b = self.outbox.read(after, self.robot.config().batch_records);
                match self.robot.on_batch(b, self.now) {
                    Some(up) => self.up.push(up),
                    None => break,
                }
            }
        }

        fn ack(&mut self, a: &MemoryAck) {
            if let Some(t) = self.robot.on_ack(a, self.now) {
                assert!(t > self.cursor, "the durable cursor only moves forward");
                self.cursor = t;
            }
        }

        /// What must hold after every step, whatever the network did.
        fn check(&self) {
            assert!(self.robot.acked() <= self.host.held, "robot believes more than the host holds");
            assert_eq!(self.robot.acked(), self.cursor);
            assert!(self.host.applied.values().all(|&n| n == 1), "a record applied twice");
            let held: Vec<i64> = self.outbox.present.iter().copied().filter(|s| *s <= self.host.held).collect();
            assert_eq!(self.host.applied.keys().copied().collect::<Vec<_>>(), held, "host skipped a record");
        }
    }

    /// Any queued message (reordering); with `dup` a copy goes and the
    /// original stays queued to come again (duplication).
    fn deliver<T: Clone>(queue: &mut Vec<T>, pick: u8, dup: bool) -> Option<T> {
        if queue.is_empty() {
            return None;
        }
        let i = usize::from(pick) % queue.len();
        Some(if dup { queue[i].clone() } else { queue.remove(i) })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn every_record_applied_once_and_the_cursor_is_right(
            last in 1i64..120,
            missing in prop::collection::vec(any::<bool>(), 120),
            window in 1usize..5,
            batch in 1usize..12,
            script in prop::collection::vec((0u8..8, any::<u8>()), 0..300),
        ) {
            // Up to a quarter of the numbers superseded, never the last one.
            let present: Vec<i64> =
                (1..=last).filter(|s| *s == last || !(missing[*s as usize % 120] && s % 4 == 0)).collect();
            let config = RobotSyncConfig {
                window,
                batch_records: batch,
                batch_bytes: usize::MAX,
                ack_timeout: Duration::from_millis(100),
            };
            let mut w = World {
                robot: RobotSync::new(config, "r", 9, 0, last),
                cursor: 0,
                outbox: ModelOutbox { present, last },
                host: ModelHost::default(),
                up: Vec::new(),
                down: Vec::new(),
                now: 0,
            };
            w.robot.on_connected(0);
            for (op, pick) in script {
                w.now += 7;
                match op {
                    // Deliver a batch or an ack, perhaps out of order, perhaps
                    // leaving it queued to come again.
                    0 | 1 => {
                        if let Some(up) = deliver(&mut w.up, pick, op == 1) {
                            let a = w.host.receive(&up);
                            w.down.push(a);
                        }
                    }
                    2 | 3 => {
                        if let Some(a) = deliver(&mut w.down, pick, op == 3) {
                            w.ack(&a);
                        }
                    }
                    // Lose a message in either direction.
                    4 => {
                        if !w.up.is_empty() {
                            let i = usize::from(pick) % w.up.len();
                            w.up.remove(i);
                        }
                    }
                    5 => {
                        if !w.down.is_empty() {
                            let i = usize::from(pick) % w.down.len();
                            w.down.remove(i);
                        }
                    }
                    // The link breaks (in-flight batches may still arrive
                    // later, from the broker's queue) and comes back.
                    6 => {
                        w.robot.on_disconnected();
                        w.robot.on_connected(w.now);
                    }
                    // Time passes: the ack timeout may fire.
                    _ => w.now += u64::from(pick),
                }
                w.pump();
                w.check();
            }
            // Then a network that delivers everything in order, with the
            // stragglers of the bad one still in it.
            for _ in 0..10_000 {
                if w.robot.acked() == last && w.up.is_empty() && w.down.is_empty() {
                    break;
                }
                w.now += 50;
                w.pump();
                for up in std::mem::take(&mut w.up) {
                    let a = w.host.receive(&up);
                    w.down.push(a);
                }
                for a in std::mem::take(&mut w.down) {
                    w.ack(&a);
                }
                w.check();
            }
            prop_assert_eq!(w.robot.acked(), last, "did not converge");
            prop_assert_eq!(w.host.held, last);
            prop_assert_eq!(w.host.applied.keys().copied().collect::<Vec<_>>(), w.outbox.present.clone());
        }
    }
}
