//! The remote kill-switch and the operator-link watchdog: what the robot
//! does with stop, release and heartbeat messages from the network. Pure
//! logic: the MQTT event loop that feeds it lives elsewhere and passes in
//! every payload and both clocks.
//!
//! A kill-switch message ([`message`]) is JSON signed with HMAC-SHA256
//! under a per-robot [`KillKey`]; [`replay`] rejects authentic messages
//! that are not fresh (per-issuer counters kept in a [`ReplayStore`], a
//! timestamp window); [`RemoteKill`] engages the [`Latch`](crate::safety::Latch)
//! on a verified engage and, on a verified release, goes through the same
//! operator reset as a person at the robot, so the hardware line must be
//! released and nothing restarts. [`OperatorLink`] stops a robot whose
//! operator goes silent at a level that needs one, and
//! [`remote_set_level`] keeps remote level requests below the board's cap.
//! [`RemoteKillSink`] connects the handler to the MQTT link's kill topic,
//! where signed heartbeats feed the operator-link watchdog
//! ([`OperatorWatchdog`]).
//! `docs/remote-kill.md` documents the format for host implementers.

mod audit;
mod heartbeat;
mod key;
mod kill;
mod level;
pub mod message;
pub mod replay;
mod sink;
mod store;
mod watchdog;

#[cfg(test)]
mod tests;

pub use audit::MAX_LOGGED_REFUSALS_PER_MINUTE;
pub use heartbeat::{needs_operator, LinkLoss, OperatorLink, DEFAULT_OPERATOR_HEARTBEAT};
pub use key::{KeyError, KeyWarning, KillKey, LoadedKey, KEY_LEN};
pub use kill::{KillOutcome, Now, RemoteKill, RemoteKillError, SetupError};
pub use level::remote_set_level;
pub use message::{sign, verify, Action, KillFields, KillMessage, MessageError, VerifiedKill, MAX_MESSAGE_BYTES};
pub use replay::{ReplayError, ReplayState, StandingEngage, TimeWindow, DEFAULT_WINDOW};
pub use sink::{describe, system_wall_ms, RemoteKillSink, SinkStats, NO_KEY};
pub use store::{FileStore, MemoryStore, ReplayStore, StoreError};
pub use watchdog::{OperatorShared, OperatorWatchdog};
