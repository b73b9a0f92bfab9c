//! The memory database's schema, its migrations, its connection settings, and
//! the typed records the store reads and writes.
//!
//! Migrations are keyed by SQLite's `user_version`: each entry of
//! [`MIGRATIONS`] moves the file one version up inside one transaction, so a
//! file is always at exactly one known version. A file from a newer runtime is
//! refused rather than guessed at.

use robot_hal::Pose;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::MemoryError;

/// The schema version this runtime writes.
pub const SCHEMA_VERSION: i64 = 1;

/// How long a writer waits for another connection's lock before failing.
pub(crate) const BUSY_TIMEOUT_MS: u64 = 5_000;

/// Schema steps; entry `i` takes `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[r#"
    -- One row: the per-robot sequence counter and the last hybrid-logical-clock
    -- value handed out, so both keep growing across restarts.
    CREATE TABLE sync_state (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        robot_id  TEXT    NOT NULL,
        last_seq  INTEGER NOT NULL,
        last_hlc  INTEGER NOT NULL
    );
    CREATE TABLE places (
        name          TEXT    PRIMARY KEY,
        x             REAL    NOT NULL,
        y             REAL    NOT NULL,
        heading_deg   REAL,
        source        TEXT    NOT NULL CHECK (source IN ('board', 'remembered', 'fleet')),
        updated_at_us INTEGER NOT NULL,
        hlc           INTEGER NOT NULL,
        outbox_seq    INTEGER NOT NULL UNIQUE
    );
    CREATE TABLE objects_seen (
        id         INTEGER PRIMARY KEY,
        uid        TEXT    NOT NULL UNIQUE,
        label      TEXT    NOT NULL,
        colour     TEXT,
        x          REAL    NOT NULL,
        y          REAL    NOT NULL,
        seen_at_us INTEGER NOT NULL,
        hlc        INTEGER NOT NULL,
        outbox_seq INTEGER NOT NULL UNIQUE
    );
    CREATE INDEX objects_seen_time ON objects_seen (seen_at_us);
    CREATE TABLE episodes (
        id            INTEGER PRIMARY KEY,
        uid           TEXT    NOT NULL UNIQUE,
        command       TEXT    NOT NULL,
        program       TEXT    NOT NULL,
        decision      TEXT    NOT NULL,
        status        TEXT    NOT NULL,
        reason        TEXT    NOT NULL,
        steps         TEXT    NOT NULL,
        started_at_us INTEGER NOT NULL,
        ended_at_us   INTEGER NOT NULL,
        hlc           INTEGER NOT NULL,
        outbox_seq    INTEGER NOT NULL UNIQUE
    );
    CREATE TABLE notes (
        id            INTEGER PRIMARY KEY,
        uid           TEXT    NOT NULL UNIQUE,
        kind          TEXT    NOT NULL CHECK (kind IN ('note', 'preference')),
        text          TEXT    NOT NULL,
        created_at_us INTEGER NOT NULL,
        hlc           INTEGER NOT NULL,
        outbox_seq    INTEGER NOT NULL UNIQUE
    );
"#];

/// Apply the connection settings (see the module docs of [`super`] for why).
pub(crate) fn configure(conn: &Connection) -> Result<(), MemoryError> {
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    // `journal_mode` answers with the mode in force; an in-memory database
    // stays `memory`, which is fine (nothing to survive).
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

/// Bring the file up to [`SCHEMA_VERSION`] and make sure the sync-state row
/// exists.
pub(crate) fn migrate(conn: &mut Connection, robot_id: &str) -> Result<(), MemoryError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(MemoryError::NewerSchema { found, known: SCHEMA_VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // `user_version` takes no bound parameter; `i` is ours, not input.
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    conn.execute(
        "INSERT INTO sync_state (id, robot_id, last_seq, last_hlc) VALUES (1, ?1, 0, 0) ON CONFLICT (id) DO NOTHING",
        [robot_id],
    )?;
    Ok(())
}

/// A hybrid logical clock value: the writer's physical time in milliseconds
/// and a counter that orders events within one millisecond (or while the
/// physical clock stands still or steps back). Compared as a pair; stored
/// packed in one INTEGER (`wall_ms << 16 | counter`) so SQL can order by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Hlc {
    pub wall_ms: u64,
    pub counter: u16,
}

impl Hlc {
    /// The largest physical time that still packs into an `i64`.
    pub const MAX_WALL_MS: u64 = (i64::MAX as u64) >> 16;

    /// The next value for a local event at physical time `now_us`: later
    /// than `last` even if the physical clock went backwards.
    pub fn tick(last: Hlc, now_us: u64) -> Hlc {
        let now_ms = (now_us / 1000).min(Self::MAX_WALL_MS);
        if now_ms > last.wall_ms {
            Hlc { wall_ms: now_ms, counter: 0 }
        } else if last.counter < u16::MAX {
            Hlc { wall_ms: last.wall_ms, counter: last.counter + 1 }
        } else {
            // Counter exhausted: borrow the next millisecond rather than repeat.
            Hlc { wall_ms: last.wall_ms.saturating_add(1).min(Self::MAX_WALL_MS), counter: 0 }
        }
    }

    pub fn pack(self) -> i64 {
        ((self.wall_ms.min(Self::MAX_WALL_MS) << 16) | u64::from(self.counter)) as i64
    }

    pub fn unpack(v: i64) -> Hlc {
        let v = v.max(0) as u64;
        Hlc { wall_ms: v >> 16, counter: (v & 0xffff) as u16 }
    }
}

/// Where a place came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceSource {
    /// Declared in the board file.
    Board,
    /// Stored by `remember_place` on this robot.
    Remembered,
    /// Shared by the fleet through the host.
    Fleet,
}

impl PlaceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceSource::Board => "board",
            PlaceSource::Remembered => "remembered",
            PlaceSource::Fleet => "fleet",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<PlaceSource, MemoryError> {
        match s {
            "board" => Ok(PlaceSource::Board),
            "remembered" => Ok(PlaceSource::Remembered),
            "fleet" => Ok(PlaceSource::Fleet),
            other => Err(MemoryError::Corrupt(format!("place source `{other}`"))),
        }
    }
}

/// A stored place. Its stable id is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceRecord {
    pub name: String,
    pub pose: Pose,
    /// Whether the heading matters on arrival (stored as a NULL heading when not).
    pub has_heading: bool,
    pub source: PlaceSource,
    pub updated_at_us: u64,
    pub hlc: Hlc,
    pub outbox_seq: i64,
}

/// One object seen by `scan`, in world coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectSeen {
    pub id: i64,
    pub uid: String,
    pub label: String,
    /// The label's first word when it is a colour (`red ball` -> `red`).
    pub colour: Option<String>,
    pub x: f64,
    pub y: f64,
    pub seen_at_us: u64,
    pub hlc: Hlc,
    pub outbox_seq: i64,
}

/// Which objects to list; every field narrows the result, `Default` lists all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectFilter {
    /// Case-insensitive substring of the label (`ball`, `red`).
    pub label_contains: Option<String>,
    /// Seen at or after this time.
    pub since_us: Option<u64>,
    /// Seen at or before this time.
    pub until_us: Option<u64>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// What the executor knows about one run, to be stored as an episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    /// What the operator (or the brain) said or typed.
    pub command: String,
    /// The program that was checked, as text.
    pub program: String,
    /// The policy's verdict: accepted, rejected, declined, needs_confirmation.
    pub decision: String,
    /// How the run ended (the executor's run status).
    pub status: String,
    pub reason: String,
    /// The step reports, as JSON.
    pub steps: Json,
    pub started_at_us: u64,
    pub ended_at_us: u64,
}

/// A stored episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub id: i64,
    pub uid: String,
    #[serde(flatten)]
    pub record: EpisodeRecord,
    pub hlc: Hlc,
    pub outbox_seq: i64,
}

/// What a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// Something the robot was told to keep in mind.
    Note,
    /// How the operator likes things done (speed, quiet hours, ...).
    Preference,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Note => "note",
            NoteKind::Preference => "preference",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<NoteKind, MemoryError> {
        match s {
            "note" => Ok(NoteKind::Note),
            "preference" => Ok(NoteKind::Preference),
            other => Err(MemoryError::Corrupt(format!("note kind `{other}`"))),
        }
    }
}

/// A stored note or preference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteRecord {
    pub id: i64,
    pub uid: String,
    pub kind: NoteKind,
    pub text: String,
    pub created_at_us: u64,
    pub hlc: Hlc,
    pub outbox_seq: i64,
}
