//! [`RemoteKillSink`]: the robot's end of the kill topic, the glue between
//! the MQTT link ([`crate::sync::RobotLink`], which calls
//! [`KillSink::deliver`] on its own thread for every payload on
//! `robots/<id>/kill`) and [`RemoteKill::handle`].
//!
//! The sink owns everything the handler needs behind one mutex: the
//! handler itself and a flight recorder of its own. Nothing the executor
//! holds (its recorder, the simulated world, the memory connection) is on
//! that path, so a stop is never held up by a program that is running; the
//! latch the handler engages is lock-free for an engage. For the same
//! reason the records' times come from the sink's own monotonic clock
//! (time since the sink was made), not from the robot's injected clock,
//! whose simulated implementation locks the world the executor is stepping.
//!
//! A robot started without a key gets [`RemoteKillSink::without_key`]: it
//! refuses every message (reason `no_key`), records and reports the refusal,
//! and never acts on anything it cannot verify.
//!
//! With [`RemoteKillSink::with_operator_link`] the sink also keeps the
//! operator-link watchdog ([`OperatorLink`]): verified heartbeats feed it,
//! and [`RemoteKillSink::tick_operator`] (called on a timer, see
//! [`super::OperatorWatchdog`]) engages the latch when the link has been
//! silent too long at a level that needs an operator. Only verified
//! heartbeats count, so a robot without a key that must have an operator
//! stops after one timeout.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use robot_hal::board::Level;

use super::audit::RefusalLimiter;
use super::heartbeat::{LinkLoss, OperatorLink};
use super::kill::{KillOutcome, Now, RemoteKill};
use crate::recorder::{Event, Recorder};
use crate::safety::{Cause, Latch};
use crate::sync::KillSink;

/// The refusal code of a message that arrived at a robot with no key.
pub const NO_KEY: &str = "no_key";

/// What the sink has seen, for displays and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkStats {
    /// Payloads handed to the sink.
    pub delivered: u64,
    /// Payloads the handler acted on.
    pub accepted: u64,
    /// Payloads refused (forged, replayed, stale, no key, ...).
    pub refused: u64,
    /// What the last accepted message did.
    pub last_outcome: Option<KillOutcome>,
    /// The reason code of the last refusal (`RemoteKillError::code`, or
    /// [`NO_KEY`]).
    pub last_refusal: Option<&'static str>,
    /// Verified operator heartbeats (also counted in `accepted`).
    pub heartbeats: u64,
    /// Times the operator link was found lost (each engaged the latch).
    pub link_losses: u64,
}

/// The operator-link watchdog kept by the sink.
struct Operator {
    link: OperatorLink,
    latch: Arc<Latch>,
}

/// Where the sink's one-line reports go (stderr unless replaced).
type LogFn = Box<dyn Fn(&str) + Send + Sync>;

/// The sink's monotonic clock: the records' times and the operator link's.
type MonoClock = Box<dyn Fn() -> Duration + Send + Sync>;

struct Inner {
    /// `None`: this robot has no key and refuses everything.
    kill: Option<RemoteKill>,
    rec: Recorder,
    stats: SinkStats,
    /// Bounds the reports (the handler bounds its own records): anyone who
    /// can publish on the topic could otherwise flood the log output.
    reports: RefusalLimiter,
    operator: Option<Operator>,
}

/// A [`KillSink`] that verifies and acts on kill-switch messages.
pub struct RemoteKillSink {
    robot_id: String,
    inner: Mutex<Inner>,
    /// Time since the sink was made (replaceable for tests).
    clock: MonoClock,
    wall_ms: fn() -> u64,
    log: LogFn,
}

impl std::fmt::Debug for RemoteKillSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKillSink").field("robot_id", &self.robot_id).finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch; a clock before 1970 reads 0, which
/// makes every message `from_future` (refused), the safe side.
pub fn system_wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl RemoteKillSink {
    /// A sink that hands every payload to `kill`, recording into `rec`.
    pub fn new(kill: RemoteKill, rec: Recorder) -> RemoteKillSink {
        let robot_id = kill.robot_id().to_string();
        Self::build(robot_id, Some(kill), rec)
    }

    /// A sink for a robot without a kill key: every message is refused
    /// unread, recorded as `no_key` and reported.
    pub fn without_key(robot_id: impl Into<String>, rec: Recorder) -> RemoteKillSink {
        Self::build(robot_id.into(), None, rec)
    }

    fn build(robot_id: String, kill: Option<RemoteKill>, rec: Recorder) -> RemoteKillSink {
        RemoteKillSink {
            robot_id,
            inner: Mutex::new(Inner {
                kill,
                rec,
                stats: SinkStats::default(),
                reports: RefusalLimiter::default(),
                operator: None,
            }),
            clock: {
                let started = Instant::now();
                Box::new(move || started.elapsed())
            },
            wall_ms: system_wall_ms,
            log: Box::new(|line| eprintln!("{line}")),
        }
    }

    /// Use another wall clock (tests judge timestamps against a fixed one).
    pub fn with_wall_clock(mut self, wall_ms: fn() -> u64) -> RemoteKillSink {
        self.wall_ms = wall_ms;
        self
    }

    /// Watch the operator link: without a verified heartbeat for `timeout`
    /// (counted from now) at a level that needs an operator,
    /// [`RemoteKillSink::tick_operator`] engages `latch`.
    pub fn with_operator_link(self, timeout: Duration, latch: Arc<Latch>) -> RemoteKillSink {
        let link = OperatorLink::new(timeout, (self.clock)());
        self.lock().operator = Some(Operator { link, latch });
        self
    }

    /// The operator-link timeout, when the link is watched.
    pub fn operator_timeout(&self) -> Option<Duration> {
        self.lock().operator.as_ref().map(|o| o.link.timeout())
    }

    /// Check the operator link now, with the robot at `level`. On a loss
    /// (reported once per silence) the latch is engaged here, the loss is
    /// recorded and reported, and returned so that the owner of the policy
    /// lowers the level ([`LinkLoss::apply`]).
    pub fn tick_operator(&self, level: Level) -> Option<LinkLoss> {
        let t = (self.clock)();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let op = inner.operator.as_mut()?;
        let loss = op.link.tick(t, level)?;
        // Stop first; the record and the report come after.
        let newly = op.latch.engage(Cause::Software);
        inner.stats.link_losses += 1;
        let detail = format!(
            "no operator heartbeat for {} ms at {}: latch {}",
            loss.silent_for.as_millis(),
            loss.level,
            if newly { "ENGAGED" } else { "already engaged" }
        );
        if let Err(e) = inner.rec.record(t, Event::Safety { what: "operator_link_lost".into(), detail: detail.clone() })
        {
            (self.log)(&format!("remote kill: flight recorder: {e}"));
        }
        (self.log)(&format!("operator link lost: {detail}"));
        Some(loss)
    }

    /// Use another monotonic clock (tests step it by hand). Set it before
    /// [`RemoteKillSink::with_operator_link`], which starts counting at its
    /// current reading.
    pub fn with_monotonic_clock(mut self, clock: impl Fn() -> Duration + Send + Sync + 'static) -> RemoteKillSink {
        self.clock = Box::new(clock);
        self
    }

    /// Send the one-line reports somewhere else than stderr.
    pub fn with_log(mut self, log: impl Fn(&str) + Send + Sync + 'static) -> RemoteKillSink {
        self.log = Box::new(log);
        self
    }

    pub fn robot_id(&self) -> &str {
        &self.robot_id
    }

    /// Whether the sink can verify messages (a key was given).
    pub fn has_key(&self) -> bool {
        self.lock().kill.is_some()
    }

    /// What the sink has seen so far.
    pub fn stats(&self) -> SinkStats {
        self.lock().stats.clone()
    }

    /// The records written so far, for a recorder that keeps them in
    /// memory (empty for a file recorder: read its file).
    pub fn records(&self) -> Vec<crate::recorder::Record> {
        self.lock().rec.records().to_vec()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock was held cannot have left a half-engaged
        // latch (the latch is its own atomic state) and the replay state is
        // saved whole; refusing every later stop because of it would be
        // the unsafe choice.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn handle(&self, topic_robot_id: &str, payload: &[u8]) {
        let t = (self.clock)();
        let now = Now { unix_ms: (self.wall_ms)(), t };
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.stats.delivered += 1;
        let Some(kill) = inner.kill.as_mut() else {
            inner.stats.refused += 1;
            inner.stats.last_refusal = Some(NO_KEY);
            if let Some(suppressed) = inner.reports.admit(t) {
                let detail = format!(
                    "message for `{}` ({} bytes) refused unread: this robot has no kill-switch key (start it with --kill-key FILE)",
                    truncate(topic_robot_id),
                    payload.len()
                );
                let event = Event::RemoteRefused { reason: NO_KEY.into(), detail: detail.clone(), suppressed };
                if let Err(e) = inner.rec.record(t, event) {
                    (self.log)(&format!("remote kill: flight recorder: {e}"));
                }
                (self.log)(&format!("remote kill: {detail}{}", suppressed_note(suppressed)));
            }
            return;
        };
        match kill.handle(topic_robot_id, payload, now, &mut inner.rec) {
            Ok(KillOutcome::Heartbeat { issuer, .. }) => {
                inner.stats.accepted += 1;
                inner.stats.heartbeats += 1;
                let restored = inner.operator.as_mut().is_some_and(|op| op.link.beat(t));
                if restored {
                    let detail = format!("heartbeat from `{issuer}`: operator link back; the stop stands until reset");
                    let event = Event::Safety { what: "operator_link_restored".into(), detail: detail.clone() };
                    if let Err(e) = inner.rec.record(t, event) {
                        (self.log)(&format!("remote kill: flight recorder: {e}"));
                    }
                    (self.log)(&format!("operator link: {detail}"));
                }
            }
            Ok(outcome) => {
                inner.stats.accepted += 1;
                (self.log)(&format!("remote kill: {}", describe(&outcome)));
                inner.stats.last_outcome = Some(outcome);
            }
            Err(e) => {
                inner.stats.refused += 1;
                inner.stats.last_refusal = Some(e.code());
                if let Some(suppressed) = inner.reports.admit(t) {
                    (self.log)(&format!("remote kill: refused ({}): {e}{}", e.code(), suppressed_note(suppressed)));
                }
            }
        }
    }
}

impl KillSink for RemoteKillSink {
    fn deliver(&self, robot_id: &str, payload: &[u8]) {
        self.handle(robot_id, payload);
    }
}

fn suppressed_note(suppressed: u64) -> String {
    if suppressed == 0 {
        String::new()
    } else {
        format!(" ({suppressed} earlier refusals not reported)")
    }
}

/// Topic segments come from the network: keep what is reported short.
fn truncate(s: &str) -> String {
    s.chars().take(super::message::MAX_ID_LEN).collect()
}

/// One line for the operator's terminal.
pub fn describe(outcome: &KillOutcome) -> String {
    let unsaved = |persisted: bool| if persisted { "" } else { " (replay state NOT saved)" };
    match outcome {
        KillOutcome::Engaged { issuer, counter, newly, persisted } => format!(
            "stop from `{issuer}` (counter {counter}): latch {}{}",
            if *newly { "ENGAGED" } else { "already engaged" },
            unsaved(*persisted)
        ),
        KillOutcome::Released { issuer, counter, persisted } => format!(
            "release from `{issuer}` (counter {counter}): latch reset, nothing restarted{}",
            unsaved(*persisted)
        ),
        KillOutcome::NotEngaged { issuer, counter } => {
            format!("release from `{issuer}` (counter {counter}): the latch was not engaged")
        }
        KillOutcome::Heartbeat { issuer, counter } => format!("heartbeat from `{issuer}` (counter {counter})"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex as StdMutex};
    use std::time::Duration;

    use super::*;
    use crate::remote::{sign, Action, KillFields, KillKey, MemoryStore};
    use crate::safety::{Cause, Latch};

    const ROBOT: &str = "sim-rover-1";
    const T0: u64 = 1_700_000_000_000;

    fn fixed_wall() -> u64 {
        T0
    }

    fn key() -> KillKey {
        KillKey::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
    }

    fn msg(key: &KillKey, action: Action, counter: u64) -> Vec<u8> {
        let f = KillFields { robot_id: ROBOT.into(), action, counter, timestamp_ms: T0, issuer: "console".into() };
        sign(key, f).unwrap().to_json().into_bytes()
    }

    fn sink(latch: &Arc<Latch>) -> (RemoteKillSink, Arc<StdMutex<Vec<String>>>) {
        let kill = RemoteKill::new(ROBOT, key(), latch.clone(), Box::new(MemoryStore::default())).unwrap();
        let lines = Arc::new(StdMutex::new(Vec::new()));
        let l = lines.clone();
        let s = RemoteKillSink::new(kill, Recorder::memory())
            .with_wall_clock(fixed_wall)
            .with_log(move |line| l.lock().unwrap().push(line.to_string()));
        (s, lines)
    }

    #[test]
    fn a_signed_engage_through_the_sink_engages_the_latch_and_a_replay_is_refused_and_reported() {
        let latch = Latch::new(Vec::new(), Duration::ZERO);
        let (s, lines) = sink(&latch);
        let engage = msg(&key(), Action::Engage, 1);
        s.deliver(ROBOT, &engage);
        assert!(latch.is_engaged());
        assert_eq!(latch.cause(), Some(Cause::Remote));
        s.deliver(ROBOT, &engage);
        let st = s.stats();
        assert_eq!((st.delivered, st.accepted, st.refused), (2, 1, 1));
        assert_eq!(st.last_refusal, Some("replayed"));
        assert!(matches!(st.last_outcome, Some(KillOutcome::Engaged { counter: 1, newly: true, .. })));
        let lines = lines.lock().unwrap();
        assert!(lines[0].contains("latch ENGAGED"), "{lines:?}");
        assert!(lines[1].contains("refused (replayed)"), "{lines:?}");
        // Both went to the sink's own recorder.
        let kinds: Vec<&str> = s.records().iter().map(|r| r.event.kind()).collect();
        assert_eq!(kinds, ["safety", "remote_refused"]);
    }

    #[test]
    fn a_forged_message_leaves_the_latch_alone() {
        let latch = Latch::new(Vec::new(), Duration::ZERO);
        let (s, _) = sink(&latch);
        let other = KillKey::from_bytes([7; 32]).unwrap();
        s.deliver(ROBOT, &msg(&other, Action::Engage, 1));
        assert!(!latch.is_engaged());
        assert_eq!(s.stats().last_refusal, Some("bad_signature"));
    }

    #[test]
    fn without_a_key_every_message_is_refused_recorded_and_reported_at_a_bounded_rate() {
        let lines = Arc::new(StdMutex::new(Vec::new()));
        let l = lines.clone();
        let s = RemoteKillSink::without_key(ROBOT, Recorder::memory())
            .with_log(move |line| l.lock().unwrap().push(line.to_string()));
        assert!(!s.has_key());
        for _ in 0..100 {
            s.deliver(ROBOT, &msg(&key(), Action::Engage, 1));
        }
        let st = s.stats();
        assert_eq!((st.delivered, st.accepted, st.refused), (100, 0, 100));
        assert_eq!(st.last_refusal, Some(NO_KEY));
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), crate::remote::MAX_LOGGED_REFUSALS_PER_MINUTE as usize);
        assert!(lines[0].contains("no kill-switch key") && lines[0].contains("--kill-key"), "{}", lines[0]);
        assert_eq!(s.records().len(), lines.len());
    }

    /// A sink with a hand-stepped monotonic clock and an operator link of
    /// 2 s; the returned cell holds the clock's reading in milliseconds.
    fn watched(latch: &Arc<Latch>, keyed: bool) -> (RemoteKillSink, Arc<std::sync::atomic::AtomicU64>) {
        use std::sync::atomic::{AtomicU64, Ordering};
        let ms = Arc::new(AtomicU64::new(0));
        let m = ms.clone();
        let base = if keyed {
            sink(latch).0
        } else {
            RemoteKillSink::without_key(ROBOT, Recorder::memory()).with_wall_clock(fixed_wall).with_log(|_| {})
        };
        let s = base
            .with_monotonic_clock(move || Duration::from_millis(m.load(Ordering::SeqCst)))
            .with_operator_link(Duration::from_secs(2), latch.clone());
        (s, ms)
    }

    #[test]
    fn verified_heartbeats_keep_an_operator_level_running_and_silence_stops_it_once() {
        use std::sync::atomic::Ordering;
        let latch = Latch::new(Vec::new(), Duration::ZERO);
        let (s, ms) = watched(&latch, true);
        assert_eq!(s.operator_timeout(), Some(Duration::from_secs(2)));
        for c in 1..=10u64 {
            ms.store(c * 500, Ordering::SeqCst);
            s.deliver(ROBOT, &msg(&key(), Action::Heartbeat, c));
            assert_eq!(s.tick_operator(Level::L2), None);
        }
        assert!(!latch.is_engaged());
        let st = s.stats();
        assert_eq!((st.heartbeats, st.accepted, st.refused), (10, 10, 0));
        assert!(s.records().is_empty(), "heartbeats are not written to the flight recorder");
        // A heartbeat signed with another key does not count.
        ms.store(6_000, Ordering::SeqCst);
        s.deliver(ROBOT, &msg(&KillKey::from_bytes([7; 32]).unwrap(), Action::Heartbeat, 11));
        ms.store(6_999, Ordering::SeqCst);
        assert_eq!(s.tick_operator(Level::L2), None);
        ms.store(7_000, Ordering::SeqCst);
        let loss = s.tick_operator(Level::L2).expect("2 s after the last verified heartbeat");
        assert_eq!((loss.silent_for, loss.level), (Duration::from_secs(2), Level::L2));
        assert!(latch.is_engaged());
        assert_eq!(latch.cause(), Some(Cause::Software));
        assert_eq!(s.tick_operator(Level::L2), None, "reported once");
        assert_eq!(s.stats().link_losses, 1);
        // The link coming back releases nothing.
        ms.store(8_000, Ordering::SeqCst);
        s.deliver(ROBOT, &msg(&key(), Action::Heartbeat, 12));
        assert!(latch.is_engaged());
        let kinds: Vec<String> = s
            .records()
            .into_iter()
            .filter_map(|r| match r.event {
                Event::Safety { what, .. } => Some(what),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["operator_link_lost", "operator_link_restored"]);
    }

    #[test]
    fn silence_at_an_autonomous_level_is_no_loss_and_a_robot_without_a_key_stops_at_an_operator_level() {
        use std::sync::atomic::Ordering;
        let latch = Latch::new(Vec::new(), Duration::ZERO);
        let (s, ms) = watched(&latch, true);
        ms.store(60_000, Ordering::SeqCst);
        assert_eq!(s.tick_operator(Level::L4), None);
        assert!(!latch.is_engaged());

        let latch = Latch::new(Vec::new(), Duration::ZERO);
        let (s, ms) = watched(&latch, false);
        for c in 1..=3u64 {
            ms.store(c * 500, Ordering::SeqCst);
            s.deliver(ROBOT, &msg(&key(), Action::Heartbeat, c));
            assert_eq!(s.tick_operator(Level::L1), None);
        }
        ms.store(2_000, Ordering::SeqCst);
        assert!(s.tick_operator(Level::L1).is_some(), "unverifiable heartbeats do not count");
        assert!(latch.is_engaged());
        assert_eq!(s.stats().heartbeats, 0);
    }

    #[test]
    fn a_sink_without_an_operator_link_ignores_heartbeats_and_never_ticks() {
        let latch = Latch::new(Vec::new(), Duration::ZERO);
        let (s, _) = sink(&latch);
        s.deliver(ROBOT, &msg(&key(), Action::Heartbeat, 1));
        assert_eq!(s.stats().heartbeats, 1);
        assert_eq!(s.operator_timeout(), None);
        assert_eq!(s.tick_operator(Level::L0), None);
        assert!(!latch.is_engaged());
    }
}
