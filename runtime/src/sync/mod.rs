//! Memory sync over MQTT, robot side: the robot's memory changes go up to
//! the host through a durable outbox, places shared by the fleet come down
//! and merge by hybrid-logical-clock last-writer-wins, and the same
//! connection carries commands, events, telemetry, the kill-switch topic and
//! the retained online/offline status (docs/sync.md has the whole design).
//!
//! The split follows rumqttc's own: [`protocol`] is the state machine (outbox
//! cursor, in-flight window, acknowledgements, resume, the host's idempotent
//! apply rule and the merge rule) and does no I/O, so every fault the network
//! can produce is a unit test; [`outbox`] is the SQLite side of the robot
//! (reading batches after a sequence number, the durable acknowledged
//! cursor, applying merged places); [`event_loop`] is the only code that
//! owns a socket or a timer. [`wire`] fixes the payloads and their size
//! limits, [`topics`] the topic tree, [`backoff`] the reconnect delays.
//!
//! Nothing here queues without bound: the outbox is the memory database
//! itself (bounded by its retention), the in-flight window and every channel
//! have fixed capacities, and telemetry keeps only its latest value.

pub mod backoff;
pub mod broker;
pub mod event_loop;
pub mod outbox;
pub mod protocol;
pub mod topics;
pub mod wire;

pub use backoff::{Backoff, BackoffConfig};
pub use broker::BrokerConfig;
pub use event_loop::{KillSink, LinkStatus, RobotLink, RobotLinkConfig};
pub use outbox::Outbox;
pub use protocol::{RobotSync, RobotSyncConfig};

/// Why sync failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("sync database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("memory database has schema {found}; sync knows schema {known}")]
    Schema { found: i64, known: i64 },
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    #[error("invalid broker address `{url}`: {reason}")]
    BrokerUrl { url: String, reason: String },
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("invalid sync input: {0}")]
    Invalid(String),
    #[error("MQTT: {0}")]
    Mqtt(String),
    #[error("sync I/O: {0}")]
    Io(#[from] std::io::Error),
}
