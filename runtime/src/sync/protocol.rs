//! The sync protocol as state machines that do no I/O: the caller feeds in
//! what happened (connected, a batch was read from the outbox, an ack
//! arrived, time passed) and gets back what to send or persist.
//!
//! # Robot: outbox cursor, window, acks, resume
//!
//! The outbox is the memory database: every record carries a per-robot
//! `outbox_seq`. [`RobotSync`] keeps the highest number the host has
//! acknowledged (`acked`, persisted by the caller), reads batches after a
//! send cursor, and keeps at most `window` batches in flight. Acks are
//! cumulative. On every (re)connect, and when the oldest batch has waited
//! `ack_timeout` without progress, the send cursor goes back to `acked`
//! (go-back-N): what the host already has comes again and is ignored there,
//! so nothing is lost and the host never has to buffer out-of-order batches.
//! An ack that does not advance while batches are in flight (the host
//! refused a gap, or announced itself after reconnecting) goes back at once.
//!
//! # Host: idempotent apply
//!
//! The host keeps, per `(robot_id, epoch)`, the number through which it holds
//! everything ([`classify`]). A batch that starts at or before that number
//! is applied (records at or below it are duplicates and skipped, keyed by
//! `(robot_id, epoch, seq)`); one that starts after it is a gap (an earlier
//! batch was lost or overtaken) and is refused, and the ack repeats the
//! number so the robot goes back. A redelivered, duplicated or reordered
//! batch therefore changes nothing twice.
//!
//! # Memory down: last writer wins by hybrid logical clock
//!
//! A fleet place replaces a robot's place of the same name when its
//! [`Hlc`] is greater ([`place_wins`]); equal clocks are broken by the
//! coordinates' total order, so every node picks the same winner without
//! talking, and an equal write is a no-op (no echo loops). A place from the
//! robot's own board file is never replaced: the board is the operator's
//! declaration for that machine.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::time::Duration;

use super::wire::{MemoryAck, MemoryUp, Record, WIRE_VERSION};
use crate::memory::Hlc;

/// Limits of the robot side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RobotSyncConfig {
    /// Batches sent and not yet acknowledged, at most.
    pub window: usize,
    /// Records per batch, at most.
    pub batch_records: usize,
    /// Encoded record bytes per batch, at most (one record always fits).
    pub batch_bytes: usize,
    /// How long the oldest in-flight batch may go without any ack progress
    /// before everything unacknowledged is sent again.
    pub ack_timeout: Duration,
}

impl Default for RobotSyncConfig {
    fn default() -> Self {
        // 512 records a batch: each batch costs the host one fsync'd commit
        // and the robot one cursor write, so small batches cap throughput
        // (benches/sync_throughput.rs: 64-record batches managed a third of
        // the records per second of 512-record ones). The byte cap keeps
        // a batch of large records far below the payload limit.
        RobotSyncConfig { window: 4, batch_records: 512, batch_bytes: 128 * 1024, ack_timeout: Duration::from_secs(10) }
    }
}

/// Records read from the outbox after some number, covering
/// `(from_seq, through_seq]` (see [`MemoryUp`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxBatch {
    pub from_seq: i64,
    pub through_seq: i64,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InFlight {
    from: i64,
    through: i64,
}

/// Counters for status displays and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RobotSyncStats {
    pub batches_sent: u64,
    pub rewinds: u64,
    pub acks: u64,
    pub stale_acks: u64,
}

/// The robot's side of the protocol. See the module docs.
#[derive(Debug, Clone)]
pub struct RobotSync {
    config: RobotSyncConfig,
    robot_id: String,
    epoch: i64,
    acked: i64,
    /// The highest number that exists in the outbox as far as we know; an ack
    /// beyond it is not believed.
    known_through: i64,
    send_after: i64,
    in_flight: VecDeque<InFlight>,
    connected: bool,
    /// When the ack timer last restarted (a send into an empty window, or ack progress).
    progress_ms: u64,
    stats: RobotSyncStats,
}

impl RobotSync {
    /// Start from the durable cursor: `acked` numbers are with the host,
    /// `last_seq` is the outbox's newest.
    pub fn new(config: RobotSyncConfig, robot_id: &str, epoch: i64, acked: i64, last_seq: i64) -> RobotSync {
        let config = RobotSyncConfig {
            window: config.window.max(1),
            batch_records: config.batch_records.max(1),
            batch_bytes: config.batch_bytes.max(1),
            ..config
        };
        let acked = acked.max(0);
        RobotSync {
            config,
            robot_id: robot_id.to_string(),
            epoch,
            acked,
            known_through: last_seq.max(acked),
            send_after: acked,
            in_flight: VecDeque::new(),
            connected: false,
            progress_ms: 0,
            stats: RobotSyncStats::default(),
        }
    }

    pub fn config(&self) -> RobotSyncConfig {
        self.config
    }

    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Everything up to here is in the host's database.
    pub fn acked(&self) -> i64 {
        self.acked
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    pub fn stats(&self) -> RobotSyncStats {
        self.stats
    }

    /// A new session: resume from the last acknowledged number.
    pub fn on_connected(&mut self, now_ms: u64) {
        self.connected = true;
        self.rewind(now_ms);
    }

    /// The connection is gone; whatever was in flight is presumed lost.
    pub fn on_disconnected(&mut self) {
        self.connected = false;
        self.in_flight.clear();
        self.send_after = self.acked;
    }

    fn rewind(&mut self, now_ms: u64) {
        if !self.in_flight.is_empty() {
            self.stats.rewinds += 1;
        }
        self.in_flight.clear();
        self.send_after = self.acked;
        self.progress_ms = now_ms;
    }

    /// Go back to `acked` if the oldest batch waited too long. Call before
    /// [`RobotSync::want_batch`] on every tick.
    pub fn on_tick(&mut self, now_ms: u64) {
        let timeout = u64::try_from(self.config.ack_timeout.as_millis()).unwrap_or(u64::MAX);
        if !self.in_flight.is_empty() && now_ms.saturating_sub(self.progress_ms) >= timeout {
            self.rewind(now_ms);
        }
    }

    /// The number to read the next batch after, if the window has room.
    pub fn want_batch(&self) -> Option<i64> {
        (self.connected && self.in_flight.len() < self.config.window).then_some(self.send_after)
    }

    /// A batch was read after [`RobotSync::want_batch`]'s number: the
    /// message to publish, or `None` when the outbox had nothing new.
    pub fn on_batch(&mut self, batch: OutboxBatch, now_ms: u64) -> Option<MemoryUp> {
        // A batch read for a cursor we have since moved away from (a rewind
        // or an ack in between) is stale; reading again is cheap.
        if !self.connected || batch.from_seq != self.send_after || batch.through_seq <= batch.from_seq {
            return None;
        }
        if self.in_flight.is_empty() {
            self.progress_ms = now_ms;
        }
        self.in_flight.push_back(InFlight { from: batch.from_seq, through: batch.through_seq });
        self.send_after = batch.through_seq;
        self.known_through = self.known_through.max(batch.through_seq);
        self.stats.batches_sent += 1;
        Some(MemoryUp {
            v: WIRE_VERSION,
            robot_id: self.robot_id.clone(),
            epoch: self.epoch,
            from_seq: batch.from_seq,
            through_seq: batch.through_seq,
            records: batch.records,
        })
    }

    /// The outbox learned of newer records (the caller read `last_seq`).
    pub fn note_last_seq(&mut self, last_seq: i64) {
        self.known_through = self.known_through.max(last_seq);
    }

    /// An ack arrived: returns the new durable cursor when it advanced (the
    /// caller persists it, then the records up to it need never be sent again).
    pub fn on_ack(&mut self, ack: &MemoryAck, now_ms: u64) -> Option<i64> {
        self.stats.acks += 1;
        if ack.epoch != self.epoch {
            self.stats.stale_acks += 1;
            return None;
        }
        if ack.through_seq <= self.acked {
            // An ack that does not advance while batches are in flight means
            // the host answered without them: it refused a gap, or it has
            // just (re)connected and says where it stands. Either way what is
            // in flight is not coming; send again now rather than wait out
            // the timeout (TCP's fast retransmit, for the same reason).
            self.stats.stale_acks += 1;
            if !self.in_flight.is_empty() {
                self.rewind(now_ms);
            }
            return None;
        }
        // Never believe more than we ever had: a confused or hostile host
        // must not make the robot skip records.
        let through = ack.through_seq.min(self.known_through);
        if through <= self.acked {
            self.stats.stale_acks += 1;
            return None;
        }
        self.acked = through;
        while self.in_flight.front().is_some_and(|b| b.through <= through) {
            self.in_flight.pop_front();
        }
        if self.send_after < through {
            // The host got further than our cursor (an earlier session's
            // batches arrived late); nothing before `through` is needed again.
            self.send_after = through;
            self.in_flight.clear();
        }
        self.progress_ms = now_ms;
        Some(through)
    }
}

/// What the host does with a batch, given the number through which it holds
/// every record of that robot's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Apply the records numbered above `held_through`; the stream then holds
    /// everything through the batch's `through_seq`.
    Apply { held_through: i64, new_through: i64 },
    /// Everything in the batch is already held.
    Duplicate,
    /// The batch starts after a number the host has not seen: refuse it.
    Gap,
}

/// Why a batch is malformed (never applied, whatever the stream state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    #[error("batch interval ({from}, {through}] is empty or negative")]
    Interval { from: i64, through: i64 },
    #[error("record {seq} is outside ({from}, {through}] or out of order")]
    RecordSeq { seq: i64, from: i64, through: i64 },
    #[error("batch from `{0}` arrived on another robot's topic")]
    WrongRobot(String),
}

/// Check a batch's shape: numbers strictly increasing inside its interval,
/// and the robot id matching the topic it came on (the broker's ACL vouches
/// for the topic, not for the payload).
pub fn validate(topic_robot: &str, up: &MemoryUp) -> Result<(), BatchError> {
    if up.robot_id != topic_robot {
        return Err(BatchError::WrongRobot(up.robot_id.clone()));
    }
    if up.from_seq < 0 || up.through_seq <= up.from_seq {
        return Err(BatchError::Interval { from: up.from_seq, through: up.through_seq });
    }
    let mut last = up.from_seq;
    for r in &up.records {
        if r.seq <= last || r.seq > up.through_seq {
            return Err(BatchError::RecordSeq { seq: r.seq, from: up.from_seq, through: up.through_seq });
        }
        last = r.seq;
    }
    Ok(())
}

/// The host's decision for a valid batch; see [`Verdict`].
pub fn classify(held_through: i64, up: &MemoryUp) -> Verdict {
    if up.through_seq <= held_through {
        Verdict::Duplicate
    } else if up.from_seq > held_through {
        Verdict::Gap
    } else {
        Verdict::Apply { held_through, new_through: up.through_seq }
    }
}

/// The ack for a stream that holds everything through `held_through`.
pub fn ack(epoch: i64, held_through: i64) -> MemoryAck {
    MemoryAck { v: WIRE_VERSION, epoch, through_seq: held_through }
}

/// A version of a place, as far as the merge rule cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaceVersion {
    pub hlc: Hlc,
    pub x: f64,
    pub y: f64,
    pub heading_deg: Option<f64>,
}

impl PlaceVersion {
    /// A total order: clock first, then the coordinates, so ties between
    /// different writes resolve the same way everywhere.
    pub fn cmp_lww(&self, other: &PlaceVersion) -> Ordering {
        self.hlc
            .cmp(&other.hlc)
            .then_with(|| self.x.total_cmp(&other.x))
            .then_with(|| self.y.total_cmp(&other.y))
            .then_with(|| match (self.heading_deg, other.heading_deg) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => a.total_cmp(&b),
            })
    }
}

/// Whether `remote` replaces `local` under last-writer-wins.
pub fn place_wins(remote: &PlaceVersion, local: Option<&PlaceVersion>) -> bool {
    match local {
        None => true,
        Some(l) => remote.cmp_lww(l) == Ordering::Greater,
    }
}

/// The hybrid-logical-clock receive rule: the local clock moves to at least
/// the remote value, so the next local write is ordered after what was seen.
pub fn hlc_receive(local: Hlc, remote: Hlc) -> Hlc {
    local.max(remote)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: i64) -> Record {
        Record {
            seq,
            hlc: Hlc { wall_ms: seq as u64, counter: 0 },
            uid: format!("r:{seq}"),
            body: super::super::wire::RecordBody::Oversize { table: "notes".into(), bytes: 1 },
        }
    }

    fn batch(from: i64, through: i64) -> OutboxBatch {
        OutboxBatch { from_seq: from, through_seq: through, records: (from + 1..=through).map(rec).collect() }
    }

    fn cfg() -> RobotSyncConfig {
        RobotSyncConfig { window: 2, batch_records: 10, batch_bytes: 1 << 20, ack_timeout: Duration::from_millis(100) }
    }

    #[test]
    fn window_limits_batches_in_flight_and_acks_open_it() {
        let mut s = RobotSync::new(cfg(), "r", 1, 0, 30);
        assert_eq!(s.want_batch(), None, "nothing is sent before a connection");
        s.on_connected(0);
        assert_eq!(s.want_batch(), Some(0));
        assert!(s.on_batch(batch(0, 10), 0).is_some());
        assert_eq!(s.want_batch(), Some(10));
        assert!(s.on_batch(batch(10, 20), 0).is_some());
        assert_eq!(s.want_batch(), None, "window of 2 is full");
        assert_eq!(s.on_ack(&ack(1, 10), 5), Some(10));
        assert_eq!(s.want_batch(), Some(20));
    }

    #[test]
    fn reconnect_resumes_from_the_last_ack() {
        let mut s = RobotSync::new(cfg(), "r", 1, 0, 30);
        s.on_connected(0);
        s.on_batch(batch(0, 10), 0);
        s.on_batch(batch(10, 20), 0);
        s.on_ack(&ack(1, 10), 1);
        s.on_disconnected();
        assert_eq!(s.want_batch(), None);
        s.on_connected(2);
        assert_eq!(s.want_batch(), Some(10));
    }

    #[test]
    fn ack_timeout_goes_back_n() {
        let mut s = RobotSync::new(cfg(), "r", 1, 0, 30);
        s.on_connected(0);
        s.on_batch(batch(0, 10), 0);
        s.on_batch(batch(10, 20), 0);
        s.on_tick(99);
        assert_eq!(s.in_flight(), 2);
        s.on_tick(100);
        assert_eq!((s.in_flight(), s.want_batch()), (0, Some(0)));
        assert_eq!(s.stats().rewinds, 1);
    }

    #[test]
    fn stale_foreign_and_inflated_acks_are_ignored_or_clamped() {
        let mut s = RobotSync::new(cfg(), "r", 1, 5, 12);
        s.on_connected(0);
        assert_eq!(s.on_ack(&ack(1, 3), 0), None);
        assert_eq!(s.on_ack(&ack(2, 9), 0), None, "another epoch");
        assert_eq!(s.on_ack(&ack(1, 1_000), 0), Some(12), "never past the newest record");
        assert_eq!(s.acked(), 12);
    }

    #[test]
    fn a_non_advancing_ack_with_batches_in_flight_resends_at_once() {
        let mut s = RobotSync::new(cfg(), "r", 1, 10, 40);
        s.on_connected(0);
        s.on_batch(batch(10, 20), 0);
        s.on_batch(batch(20, 30), 0);
        // The host refused (20, 30] as a gap after losing (10, 20], or it
        // just reconnected and announces that it holds through 10.
        assert_eq!(s.on_ack(&ack(1, 10), 1), None);
        assert_eq!((s.in_flight(), s.want_batch(), s.stats().rewinds), (0, Some(10), 1));
        // With nothing in flight the same ack changes nothing.
        s.on_ack(&ack(1, 10), 2);
        assert_eq!(s.stats().rewinds, 1);
    }

    #[test]
    fn a_batch_read_for_an_old_cursor_is_dropped() {
        let mut s = RobotSync::new(cfg(), "r", 1, 0, 30);
        s.on_connected(0);
        let stale = batch(0, 10);
        s.on_ack(&ack(1, 10), 0);
        assert_eq!(s.on_batch(stale, 0), None);
        assert_eq!(s.want_batch(), Some(10));
    }

    #[test]
    fn host_classifies_duplicates_gaps_and_overlaps() {
        let up = |from, through| MemoryUp {
            v: WIRE_VERSION,
            robot_id: "r".into(),
            epoch: 1,
            from_seq: from,
            through_seq: through,
            records: vec![],
        };
        assert_eq!(classify(10, &up(0, 10)), Verdict::Duplicate);
        assert_eq!(classify(10, &up(11, 20)), Verdict::Gap);
        assert_eq!(classify(10, &up(10, 20)), Verdict::Apply { held_through: 10, new_through: 20 });
        assert_eq!(classify(10, &up(5, 20)), Verdict::Apply { held_through: 10, new_through: 20 });
    }

    #[test]
    fn malformed_batches_are_refused() {
        let mut up = MemoryUp {
            v: WIRE_VERSION,
            robot_id: "r".into(),
            epoch: 1,
            from_seq: 0,
            through_seq: 3,
            records: vec![rec(1), rec(3)],
        };
        validate("r", &up).unwrap();
        assert!(matches!(validate("q", &up), Err(BatchError::WrongRobot(_))));
        up.records = vec![rec(3), rec(1)];
        assert!(validate("r", &up).is_err());
        up.records = vec![rec(4)];
        assert!(validate("r", &up).is_err());
        up.records = vec![];
        up.through_seq = 0;
        assert!(validate("r", &up).is_err());
    }

    #[test]
    fn lww_is_deterministic_and_equal_writes_do_not_win() {
        let v = |ms, x| PlaceVersion { hlc: Hlc { wall_ms: ms, counter: 0 }, x, y: 0.0, heading_deg: None };
        assert!(place_wins(&v(2, 0.0), Some(&v(1, 9.0))));
        assert!(!place_wins(&v(1, 9.0), Some(&v(2, 0.0))));
        assert!(!place_wins(&v(1, 1.0), Some(&v(1, 1.0))), "same write is a no-op");
        // A tie on the clock: exactly one side wins, whichever node decides.
        assert_ne!(place_wins(&v(1, 1.0), Some(&v(1, 2.0))), place_wins(&v(1, 2.0), Some(&v(1, 1.0))));
        assert!(place_wins(&v(0, 0.0), None));
    }
}
