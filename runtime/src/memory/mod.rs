//! The robot's on-device memory: places, objects seen, episodes (what it was
//! asked, what the policy decided, how each step went) and notes, kept in a
//! SQLite file that survives power cuts.
//!
//! [`MemoryStore`] is the only thing that touches the database. The runtime
//! reaches it through [`crate::places::PlaceMemory::with_store`] (places are
//! loaded at start and `remember_place` writes through), `scan` (objects seen)
//! and the executor (one episode per run). Without a store attached the
//! runtime keeps its in-memory behaviour, which tests and replays use.
//!
//! # Durability
//!
//! The connection runs with `journal_mode=WAL` and `synchronous=FULL`. In WAL
//! mode `synchronous=NORMAL` only syncs the WAL at checkpoints, so a power cut
//! can roll back the last transactions even though `COMMIT` returned; `FULL`
//! fsyncs the WAL on every commit, so once a write method returns `Ok` the
//! record is on the card. WAL (rather than a rollback journal) keeps that
//! cost to one sequential append and sync per commit, and readers never block
//! the writer. `foreign_keys=ON` and a busy timeout (a second process, such as
//! `robot memory`, may read while the robot writes) complete the settings.
//! A crash mid-write leaves either the whole transaction or none of it.
//!
//! # Time
//!
//! The store never reads the wall clock: every write takes its time (`t_us`,
//! microseconds on the runtime's injected clock) from the caller, so a
//! simulated run writes the same memory every time.
//!
//! # Ready for sync
//!
//! Every record carries a stable `uid` (`<robot_id>:<seq>` for appended
//! records, the place name for places), an `outbox_seq` from one per-robot
//! counter that only grows (every insert and every place change takes the next
//! value, so a future outbox can send "everything after the last
//! acknowledged sequence number"), and a hybrid-logical-clock timestamp
//! ([`Hlc`]) for last-writer-wins merges of places shared by a fleet.
//!
//! # Retention
//!
//! See [`Retention`]: each append-only table has a row cap enforced in the
//! same transaction as the insert, by deleting the oldest rows, so the file
//! cannot grow without bound on an SD card.
//!
//! # Search by meaning
//!
//! With a sentence embedder attached ([`MemoryStore::attach_embedder`]),
//! [`MemoryStore::search`] finds records by meaning ("red ball" finds a
//! "crimson ball"), filtered by kind and time: every record's int8
//! embedding is stored beside it and kept in an in-memory index
//! ([`SearchIndex`], `search.rs`) that follows inserts and retention
//! deletes (`embedding.rs`). docs/memory.md describes it.

mod embedding;
mod retention;
mod schema;
mod search;
mod store;

#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod tests;

pub(crate) use embedding::record_text as embedding_text;
pub use embedding::TextEmbedder;
pub use search::{IndexedRecord, RecordKind, SearchFilter, SearchHit, SearchIndex};

pub use retention::Retention;
pub use schema::{
    Episode, EpisodeRecord, Hlc, NoteKind, NoteRecord, ObjectFilter, ObjectSeen, PlaceRecord, PlaceSource,
    SCHEMA_VERSION,
};
pub use store::{MemoryStore, StoreConfig};

/// Why a memory operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    #[error("memory database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("memory database was written by a newer runtime (schema {found}, this runtime knows {known})")]
    NewerSchema { found: i64, known: i64 },
    #[error("corrupt memory record: {0}")]
    Corrupt(String),
    #[error("invalid memory input: {0}")]
    Invalid(String),
    #[error("memory store lock poisoned (a writer panicked)")]
    Poisoned,
    /// The sentence embedder failed (or its model files are missing).
    #[error("memory search: {0}")]
    Embedding(#[from] robot_models::embed::EmbedError),
    /// [`MemoryStore::search`] before [`MemoryStore::attach_embedder`].
    #[error("memory search needs an embedding model, and none is attached")]
    NoEmbedder,
}
