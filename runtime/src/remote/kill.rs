//! [`RemoteKill`]: what the robot does with a kill-switch message that
//! arrives over the network.
//!
//! The network event loop hands every payload from the robot's kill topic
//! to [`RemoteKill::handle`]. A message is acted on only if it is within
//! the size limit, well formed, signed with this robot's key, addressed to
//! this robot, and fresh (counter above the issuer's high-water mark,
//! timestamp within the window); anything else is refused with a typed
//! error and written to the flight recorder. A verified engage engages the
//! [`Latch`] at once. A verified release goes through the same operator
//! reset a person at the robot would use, so the latch's own conditions
//! still apply (kill-switch line released for the debounce time), and like
//! that reset it only rearms the actuators at rest: nothing starts moving.
//! The high-water mark is kept in a [`ReplayStore`], together with any
//! remote engage not yet released, which [`RemoteKill::new`] re-applies so
//! a robot that restarts comes back stopped. A verified heartbeat changes
//! nothing here: the caller feeds the operator-link watchdog with it.

use std::sync::Arc;
use std::time::Duration;

use super::audit::RefusalLimiter;
use super::key::KillKey;
use super::message::{self, is_valid_id, Action, KillFields, MessageError};
use super::replay::{ReplayError, ReplayState, StandingEngage, TimeWindow};
use super::store::{ReplayStore, StoreError};
use crate::recorder::{Event, Recorder};
use crate::safety::{Cause, Latch, OperatorReset, ResetError};

/// The two clocks a message is judged by, both passed in by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// The robot's wall clock, milliseconds since the Unix epoch: compared
    /// with the message's timestamp (the host signs with its wall clock).
    pub unix_ms: u64,
    /// The injected run clock: the time of the flight-recorder records.
    pub t: Duration,
}

/// What a verified message did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KillOutcome {
    /// The latch is engaged. `newly` is false when it already was (by the
    /// line, software, or an earlier stop). `persisted` is false when the
    /// replay state could not be saved: the robot is stopped regardless.
    Engaged { issuer: String, counter: u64, newly: bool, persisted: bool },
    /// The latch was cleared: actuators rearmed at rest, nothing restarted.
    /// `persisted` false means the store still holds the stop, so the robot
    /// would come back stopped after a restart (the safe side).
    Released { issuer: String, counter: u64, persisted: bool },
    /// A release for a latch that was not engaged; nothing changed but the
    /// issuer's counter.
    NotEngaged { issuer: String, counter: u64 },
    /// An operator heartbeat: nothing changed but the issuer's counter (in
    /// memory only; a replayed heartbeat after a restart can at most delay
    /// a link-loss stop by one timeout). The caller feeds its watchdog.
    Heartbeat { issuer: String, counter: u64 },
}

/// A message the robot refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteKillError {
    /// The topic it came on names another robot (the topic is not signed,
    /// so this is a routing mistake or a probe, either way not ours).
    #[error("message arrived on the topic of robot `{topic}`; this robot is `{robot}`")]
    WrongTopic { topic: String, robot: String },
    #[error(transparent)]
    Message(#[from] MessageError),
    /// Authentic, but signed for another robot.
    #[error("message from `{issuer}` is for robot `{to}`; this robot is `{robot}`")]
    WrongRobot { issuer: String, to: String, robot: String },
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("release from `{issuer}` refused: the kill-switch line is still pressed")]
    LinePressed { issuer: String },
    #[error("release from `{issuer}` refused: {source}")]
    NotResettable {
        issuer: String,
        #[source]
        source: ResetError,
    },
    /// A release whose counter could not be made durable is not acted on:
    /// after a restart the same release could be accepted again.
    #[error("release from `{issuer}` refused: {source}")]
    Store {
        issuer: String,
        #[source]
        source: StoreError,
    },
}

impl RemoteKillError {
    /// A short, stable name for the log's `reason` field.
    pub fn code(&self) -> &'static str {
        match self {
            RemoteKillError::WrongTopic { .. } => "wrong_topic",
            RemoteKillError::Message(MessageError::Oversize { .. }) => "oversize",
            RemoteKillError::Message(MessageError::Malformed(_)) => "malformed",
            RemoteKillError::Message(MessageError::InvalidField { .. }) => "invalid_field",
            RemoteKillError::Message(MessageError::BadSignature) => "bad_signature",
            RemoteKillError::WrongRobot { .. } => "wrong_robot",
            RemoteKillError::Replay(ReplayError::Replayed { .. }) => "replayed",
            RemoteKillError::Replay(ReplayError::Stale { .. }) => "stale",
            RemoteKillError::Replay(ReplayError::FromFuture { .. }) => "from_future",
            RemoteKillError::LinePressed { .. } => "line_pressed",
            RemoteKillError::NotResettable { .. } => "not_resettable",
            RemoteKillError::Store { .. } => "store_failed",
        }
    }
}

/// [`RemoteKill`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error("robot id `{0}` cannot be used in kill-switch messages: it must be 1 to 64 of A-Z a-z 0-9 . _ - : @")]
    InvalidRobotId(String),
    /// Without the stored high-water marks, old releases could be accepted
    /// again, so the handler does not start.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The robot's handler for remote kill-switch messages.
pub struct RemoteKill {
    robot_id: String,
    key: KillKey,
    latch: Arc<Latch>,
    store: Box<dyn ReplayStore>,
    state: ReplayState,
    window: TimeWindow,
    refusals: RefusalLimiter,
    restored: Option<StandingEngage>,
}

impl std::fmt::Debug for RemoteKill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKill")
            .field("robot_id", &self.robot_id)
            .field("state", &self.state)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl RemoteKill {
    /// A handler for `robot_id` (the board's) with its key. Loads the
    /// replay state and, if it holds a remote engage no release cleared,
    /// engages the latch now (see [`RemoteKill::restored_engage`]).
    pub fn new(
        robot_id: impl Into<String>,
        key: KillKey,
        latch: Arc<Latch>,
        mut store: Box<dyn ReplayStore>,
    ) -> Result<RemoteKill, SetupError> {
        let robot_id = robot_id.into();
        if !is_valid_id(&robot_id) {
            return Err(SetupError::InvalidRobotId(robot_id));
        }
        let state = store.load()?;
        let restored = state.standing_engage.clone();
        if restored.is_some() {
            latch.engage(Cause::Remote);
        }
        Ok(RemoteKill {
            robot_id,
            key,
            latch,
            store,
            state,
            window: TimeWindow::default(),
            refusals: RefusalLimiter::default(),
            restored,
        })
    }

    /// Use another timestamp window (default ±30 s).
    pub fn with_window(mut self, window: TimeWindow) -> RemoteKill {
        self.window = window;
        self
    }

    pub fn robot_id(&self) -> &str {
        &self.robot_id
    }

    /// The latch this handler engages.
    pub fn latch(&self) -> &Arc<Latch> {
        &self.latch
    }

    /// The remote engage found in the store at start, which engaged the
    /// latch before any message arrived.
    pub fn restored_engage(&self) -> Option<&StandingEngage> {
        self.restored.as_ref()
    }

    /// The replay state as the handler sees it now.
    pub fn state(&self) -> &ReplayState {
        &self.state
    }

    /// Handle one payload that arrived on the kill topic of
    /// `topic_robot_id`. Accepted actions and refusals are both written to
    /// `rec` (refusals at a bounded rate).
    pub fn handle(
        &mut self,
        topic_robot_id: &str,
        payload: &[u8],
        now: Now,
        rec: &mut Recorder,
    ) -> Result<KillOutcome, RemoteKillError> {
        let result = self.process(topic_robot_id, payload, now);
        match &result {
            // Heartbeats come several times a second: they are not news.
            Ok(KillOutcome::Heartbeat { .. }) => {}
            Ok(outcome) => record(rec, now.t, accepted_event(outcome)),
            Err(e) => {
                if let Some(suppressed) = self.refusals.admit(now.t) {
                    let event = Event::RemoteRefused {
                        reason: e.code().into(),
                        detail: format!("{e} ({} bytes)", payload.len()),
                        suppressed,
                    };
                    record(rec, now.t, event);
                }
            }
        }
        result
    }

    fn process(&mut self, topic_robot_id: &str, payload: &[u8], now: Now) -> Result<KillOutcome, RemoteKillError> {
        if topic_robot_id != self.robot_id {
            return Err(RemoteKillError::WrongTopic { topic: truncate(topic_robot_id), robot: self.robot_id.clone() });
        }
        let verified = message::verify(&self.key, payload)?;
        let f = verified.fields();
        if f.robot_id != self.robot_id {
            return Err(RemoteKillError::WrongRobot {
                issuer: f.issuer.clone(),
                to: f.robot_id.clone(),
                robot: self.robot_id.clone(),
            });
        }
        self.state.check(f, now.unix_ms, self.window)?;
        // From here the counter is used up whatever happens next, in
        // memory at least: a release refused now (line pressed) must not
        // work when replayed a moment later.
        self.state.accept(f);
        match f.action {
            Action::Engage => Ok(self.engage(f)),
            Action::Release => self.release(f),
            Action::Heartbeat => Ok(KillOutcome::Heartbeat { issuer: f.issuer.clone(), counter: f.counter }),
        }
    }

    fn engage(&mut self, f: &KillFields) -> KillOutcome {
        // Stop first, write the disk after: an fsync on an SD card can take
        // tens of milliseconds, and the stop must not wait on it.
        let newly = self.latch.engage(Cause::Remote);
        self.state.standing_engage = Some(StandingEngage { issuer: f.issuer.clone(), counter: f.counter });
        let persisted = self.store.save(&self.state).is_ok();
        KillOutcome::Engaged { issuer: f.issuer.clone(), counter: f.counter, newly, persisted }
    }

    fn release(&mut self, f: &KillFields) -> Result<KillOutcome, RemoteKillError> {
        let issuer = f.issuer.clone();
        self.store.save(&self.state).map_err(|source| RemoteKillError::Store { issuer: issuer.clone(), source })?;
        if !self.latch.is_engaged() {
            self.state.standing_engage = None;
            // A failed save leaves a stale standing engage on disk, which
            // at worst stops the robot after a restart.
            let _ = self.store.save(&self.state);
            return Ok(KillOutcome::NotEngaged { issuer, counter: f.counter });
        }
        // The latch's operator reset checks the line itself (pressed, then
        // released for the debounce time) under its own lock, so the
        // robot's local conditions are judged at the moment of the reset.
        match self.latch.reset(OperatorReset { operator: format!("remote:{issuer}") }) {
            Ok(()) => {}
            Err(ResetError::LinePressed) => return Err(RemoteKillError::LinePressed { issuer }),
            Err(source) => return Err(RemoteKillError::NotResettable { issuer, source }),
        }
        self.state.standing_engage = None;
        let persisted = self.store.save(&self.state).is_ok();
        Ok(KillOutcome::Released { issuer, counter: f.counter, persisted })
    }
}

/// Topic segments come from the network: keep what goes into errors and
/// the log short.
fn truncate(s: &str) -> String {
    s.chars().take(message::MAX_ID_LEN).collect()
}

fn accepted_event(outcome: &KillOutcome) -> Event {
    let (what, detail) = match outcome {
        KillOutcome::Engaged { issuer, counter, newly, persisted } => (
            "remote_engage",
            format!(
                "stop by {issuer} (counter {counter}){}{}",
                if *newly { "" } else { ", latch already engaged" },
                if *persisted { "" } else { ", replay state NOT saved" }
            ),
        ),
        KillOutcome::Released { issuer, counter, persisted } => (
            "remote_release",
            format!(
                "reset by {issuer} (counter {counter}); nothing restarted{}",
                if *persisted { "" } else { ", replay state NOT saved" }
            ),
        ),
        KillOutcome::NotEngaged { issuer, counter } => {
            ("remote_release", format!("release by {issuer} (counter {counter}): latch was not engaged"))
        }
        KillOutcome::Heartbeat { issuer, counter } => {
            ("operator_heartbeat", format!("heartbeat from {issuer} (counter {counter})"))
        }
    };
    Event::Safety { what: what.into(), detail }
}

fn record(rec: &mut Recorder, t: Duration, event: Event) {
    // As in the executor: a log that cannot be written must not change
    // what the kill-switch does.
    if let Err(e) = rec.record(t, event) {
        eprintln!("flight recorder: {e}");
    }
}
