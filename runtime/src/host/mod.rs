//! The fleet host: `robot host` mirrors every robot's memory into its own
//! SQLite database ([`HostDb`]), keeps presence and telemetry for the fleet
//! view, shares places between robots (last writer wins by hybrid logical
//! clock), and sends commands and kill-switch messages ([`commands`], signed
//! with a persisted counter by [`kill_counter`]), and the operator
//! heartbeats that keep robots at operator levels running ([`operator_beat`]);
//! it keeps every operator stop standing by re-signing it ([`stop_hold`]).
//!
//! The daemon ([`HostDaemon`]) keeps no state of its own beyond its MQTT
//! connection: everything another host instance would need is in the
//! database, which is what lets several instances share the load behind an
//! MQTT 5 shared subscription (docs/sync.md, "Several hosts").

pub mod commands;
pub mod daemon;
pub mod db;
#[cfg(feature = "embedded-broker")]
pub mod embedded;
pub mod kill_counter;
pub mod operator_beat;
mod periodic;
pub mod semantic;
pub mod stop_hold;

pub use daemon::{HostConfig, HostDaemon, HostStatus};
pub use db::{Applied, HostDb, MirrorRecord, RobotRow};
pub use kill_counter::{sign_kill, KillCounter};
pub use operator_beat::{OperatorBeat, OperatorBeatConfig, DEFAULT_BEAT_PERIOD};
pub use semantic::MirrorHit;
pub use stop_hold::{HoldTarget, StopHoldConfig, StopHolder, DEFAULT_HOLD_PERIOD};

/// Why a host operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    #[error("host database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("host database was written by a newer runtime (schema {found}, this runtime knows {known})")]
    NewerSchema { found: i64, known: i64 },
    #[error("refused batch: {0}")]
    Batch(#[from] crate::sync::protocol::BatchError),
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    #[error(transparent)]
    Wire(#[from] crate::sync::wire::WireError),
    /// A kill-switch message the host would not sign (the robot would
    /// refuse it).
    #[error("kill-switch message: {0}")]
    Kill(#[from] crate::remote::MessageError),
    #[error("invalid host input: {0}")]
    Invalid(String),
    /// The sentence embedder behind `robot host memory ROBOT search` failed.
    #[error("memory search: {0}")]
    Embedding(#[from] robot_models::embed::EmbedError),
    #[error("MQTT: {0}")]
    Mqtt(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("host I/O: {0}")]
    Io(#[from] std::io::Error),
}
