//! The host's database: a mirror of every robot's memory, the fleet's
//! shared places, presence, telemetry and recent events.
//!
//! All host state lives here, none in the daemon's memory, so several host
//! instances (behind an MQTT 5 shared subscription) can share one database
//! file: every batch is applied in one `BEGIN IMMEDIATE` transaction that
//! reads the stream's held number, inserts, and moves the number, so two
//! hosts applying the same or overlapping batches serialise and each record
//! lands once. Records are keyed by `(robot_id, epoch, seq)`; an insert that
//! finds its key taken is counted as a conflict (which the protocol makes
//! impossible, and the fault tests assert stays zero).

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::HostError;
use crate::memory::{Hlc, PlaceSource};
use crate::sync::protocol::{self, PlaceVersion, Verdict};
use crate::sync::wire::{self, Event, FleetPlace, MemoryAck, MemoryUp, Presence, RecordBody};

/// The schema version this runtime writes.
pub const HOST_SCHEMA_VERSION: i64 = 2;

/// Events kept per database; older ones are deleted as new ones arrive.
pub const MAX_EVENTS: i64 = 10_000;

const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE robots (
        robot_id        TEXT    PRIMARY KEY,
        presence        TEXT    NOT NULL DEFAULT 'unknown',
        presence_at_ms  INTEGER NOT NULL DEFAULT 0,
        last_seen_ms    INTEGER NOT NULL DEFAULT 0,
        epoch           INTEGER,
        telemetry       TEXT
    );
    -- Per robot and memory file: every record numbered up to held_through is here.
    CREATE TABLE streams (
        robot_id      TEXT    NOT NULL,
        epoch         INTEGER NOT NULL,
        held_through  INTEGER NOT NULL,
        PRIMARY KEY (robot_id, epoch)
    );
    CREATE TABLE records (
        robot_id        TEXT    NOT NULL,
        epoch           INTEGER NOT NULL,
        seq             INTEGER NOT NULL,
        kind            TEXT    NOT NULL,
        uid             TEXT    NOT NULL,
        hlc             INTEGER NOT NULL,
        body            TEXT    NOT NULL,
        search          TEXT    NOT NULL,
        received_at_ms  INTEGER NOT NULL,
        PRIMARY KEY (robot_id, epoch, seq)
    ) WITHOUT ROWID;
    CREATE TABLE fleet_places (
        name           TEXT    PRIMARY KEY,
        x              REAL    NOT NULL,
        y              REAL    NOT NULL,
        heading_deg    REAL,
        hlc            INTEGER NOT NULL,
        origin         TEXT    NOT NULL,
        updated_at_ms  INTEGER NOT NULL
    );
    CREATE TABLE events (
        id        INTEGER PRIMARY KEY,
        robot_id  TEXT    NOT NULL,
        at_ms     INTEGER NOT NULL,
        kind      TEXT    NOT NULL,
        body      TEXT    NOT NULL
    );
"#,
    r#"
    CREATE TABLE stops (
        robot_id  TEXT    PRIMARY KEY,
        since_ms  INTEGER NOT NULL,
        by        TEXT    NOT NULL
    );
"#,
];

/// What applying one batch did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub verdict: Verdict,
    /// The ack to publish back.
    pub ack: MemoryAck,
    /// Records inserted now.
    pub new_records: usize,
    /// Records already held (redelivered or resent).
    pub duplicates: usize,
    /// Records whose key was taken although the stream had not reached them;
    /// zero unless something is broken.
    pub conflicts: usize,
    /// Fleet places this batch changed, to push down to the other robots.
    pub fleet_changes: Vec<FleetPlace>,
}

/// One robot in the fleet view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RobotRow {
    pub robot_id: String,
    pub presence: String,
    pub presence_at_ms: i64,
    pub last_seen_ms: i64,
    pub epoch: Option<i64>,
    pub held_through: i64,
    pub records: i64,
    pub telemetry: Option<serde_json::Value>,
    /// Whether an operator stop of this robot stands (`robot host kill`,
    /// until `robot host release`).
    pub stopped: bool,
}

/// One mirrored record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MirrorRecord {
    pub robot_id: String,
    pub epoch: i64,
    pub seq: i64,
    pub kind: String,
    pub uid: String,
    pub hlc: Hlc,
    pub body: serde_json::Value,
    pub received_at_ms: i64,
}

/// The host database. See the module docs.
#[derive(Debug)]
pub struct HostDb {
    conn: Connection,
}

impl HostDb {
    /// Open (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<HostDb, HostError> {
        Self::setup(Connection::open(path.as_ref())?)
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<HostDb, HostError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<HostDb, HostError> {
        // Same settings as the robot's store, for the same reasons: a commit
        // that returned is on disk (the host acks only after it), and other
        // hosts and `robot host status` read while the daemon writes.
        conn.busy_timeout(Duration::from_secs(10))?;
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous = FULL;")?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > HOST_SCHEMA_VERSION {
            return Err(HostError::NewerSchema { found, known: HOST_SCHEMA_VERSION });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another host may have migrated while this one waited for the lock.
            let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now > i as i64 {
                continue;
            }
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            tx.commit()?;
        }
        Ok(HostDb { conn })
    }

    /// The connection, for the host's other tables (`semantic.rs`).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Apply one batch from `topic_robot`'s memory/up topic (see
    /// [`crate::sync::protocol`] for the rule).
    pub fn apply_up(&mut self, topic_robot: &str, up: &MemoryUp, now_ms: i64) -> Result<Applied, HostError> {
        protocol::validate(topic_robot, up)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO robots (robot_id, last_seen_ms, epoch) VALUES (?1, ?2, ?3) ON CONFLICT (robot_id) \
             DO UPDATE SET last_seen_ms = excluded.last_seen_ms, epoch = excluded.epoch",
            params![up.robot_id, now_ms, up.epoch],
        )?;
        tx.execute(
            "INSERT INTO streams (robot_id, epoch, held_through) VALUES (?1, ?2, 0) ON CONFLICT DO NOTHING",
            params![up.robot_id, up.epoch],
        )?;
        let held: i64 = tx.query_row(
            "SELECT held_through FROM streams WHERE robot_id = ?1 AND epoch = ?2",
            params![up.robot_id, up.epoch],
            |r| r.get(0),
        )?;
        let verdict = protocol::classify(held, up);
        let mut out = Applied {
            verdict,
            ack: protocol::ack(up.epoch, held),
            new_records: 0,
            duplicates: 0,
            conflicts: 0,
            fleet_changes: Vec::new(),
        };
        let Verdict::Apply { held_through, new_through } = verdict else {
            if verdict == Verdict::Duplicate {
                out.duplicates = up.records.len();
            }
            tx.commit()?;
            return Ok(out);
        };
        for r in &up.records {
            if r.seq <= held_through {
                out.duplicates += 1;
                continue;
            }
            let kind = kind_of(&r.body);
            let body = serde_json::to_string(&r.body).map_err(|e| HostError::Invalid(e.to_string()))?;
            let inserted = tx.execute(
                "INSERT INTO records (robot_id, epoch, seq, kind, uid, hlc, body, search, received_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
                params![up.robot_id, up.epoch, r.seq, kind, r.uid, r.hlc.pack(), body, search_text(&r.body), now_ms],
            )?;
            if inserted == 0 {
                out.conflicts += 1;
                continue;
            }
            out.new_records += 1;
            if let RecordBody::Place { name, x, y, heading_deg, source } = &r.body {
                if *source != PlaceSource::Board {
                    let p = FleetPlace {
                        name: name.clone(),
                        x: *x,
                        y: *y,
                        heading_deg: *heading_deg,
                        hlc: r.hlc,
                        origin: up.robot_id.clone(),
                    };
                    if merge_fleet_place(&tx, &p, now_ms)? {
                        out.fleet_changes.push(p);
                    }
                }
            }
        }
        tx.execute(
            "UPDATE streams SET held_through = ?3 WHERE robot_id = ?1 AND epoch = ?2",
            params![up.robot_id, up.epoch, new_through],
        )?;
        tx.commit()?;
        out.ack = protocol::ack(up.epoch, new_through);
        Ok(out)
    }

    pub fn set_presence(&self, robot_id: &str, presence: Presence, now_ms: i64) -> Result<(), HostError> {
        let p = match presence {
            Presence::Online => "online",
            Presence::Offline => "offline",
        };
        self.conn.execute(
            "INSERT INTO robots (robot_id, presence, presence_at_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?3) \
             ON CONFLICT (robot_id) DO UPDATE SET presence = excluded.presence, \
             presence_at_ms = excluded.presence_at_ms, last_seen_ms = excluded.last_seen_ms",
            params![robot_id, p, now_ms],
        )?;
        Ok(())
    }

    pub fn set_telemetry(&self, robot_id: &str, telemetry: &wire::Telemetry, now_ms: i64) -> Result<(), HostError> {
        let json = serde_json::to_string(telemetry).map_err(|e| HostError::Invalid(e.to_string()))?;
        self.conn.execute(
            "INSERT INTO robots (robot_id, telemetry, last_seen_ms) VALUES (?1, ?2, ?3) ON CONFLICT (robot_id) \
             DO UPDATE SET telemetry = excluded.telemetry, last_seen_ms = excluded.last_seen_ms",
            params![robot_id, json, now_ms],
        )?;
        Ok(())
    }

    pub fn add_event(&mut self, robot_id: &str, event: &Event, now_ms: i64) -> Result<(), HostError> {
        let body = serde_json::to_string(event).map_err(|e| HostError::Invalid(e.to_string()))?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO events (robot_id, at_ms, kind, body) VALUES (?1, ?2, ?3, ?4)",
            params![robot_id, now_ms, event.kind, body],
        )?;
        tx.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?1", [MAX_EVENTS])?;
        tx.commit()?;
        Ok(())
    }

    /// Robots whose retained status says online.
    pub fn online_robots(&self) -> Result<Vec<String>, HostError> {
        let mut stmt = self.conn.prepare("SELECT robot_id FROM robots WHERE presence = 'online' ORDER BY robot_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Record that the operator stopped `robot_id` (`robot host kill`).
    /// Recorded before the engage is published, so a host holding stops
    /// ([`super::StopHolder`]) keeps re-sending it even if that publish
    /// fails. A robot already stopped keeps its first time.
    pub fn record_stop(&self, robot_id: &str, by: &str, now_ms: i64) -> Result<(), HostError> {
        crate::sync::topics::validate_robot_id(robot_id)?;
        self.conn.execute(
            "INSERT INTO stops (robot_id, since_ms, by) VALUES (?1, ?2, ?3) ON CONFLICT (robot_id) DO NOTHING",
            params![robot_id, now_ms, by],
        )?;
        Ok(())
    }

    /// Forget `robot_id`'s stop (`robot host release`), before the release
    /// is signed: see [`super::stop_hold`] for why the order matters.
    /// Whether there was one.
    pub fn clear_stop(&self, robot_id: &str) -> Result<bool, HostError> {
        Ok(self.conn.execute("DELETE FROM stops WHERE robot_id = ?1", params![robot_id])? > 0)
    }

    /// Whether the operator's stop of `robot_id` stands.
    pub fn is_stopped(&self, robot_id: &str) -> Result<bool, HostError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM stops WHERE robot_id = ?1", params![robot_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Every standing stop: robot id and since when (ms), by robot id.
    pub fn stops(&self) -> Result<Vec<(String, i64)>, HostError> {
        let mut stmt = self.conn.prepare("SELECT robot_id, since_ms FROM stops ORDER BY robot_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The fleet view: every robot with its presence and sync progress.
    pub fn robots(&self) -> Result<Vec<RobotRow>, HostError> {
        let mut stmt = self.conn.prepare(
            "SELECT r.robot_id, r.presence, r.presence_at_ms, r.last_seen_ms, r.epoch, \
             COALESCE(s.held_through, 0), \
             (SELECT COUNT(*) FROM records c WHERE c.robot_id = r.robot_id AND c.epoch = r.epoch), r.telemetry, \
             EXISTS (SELECT 1 FROM stops t WHERE t.robot_id = r.robot_id) \
             FROM robots r LEFT JOIN streams s ON s.robot_id = r.robot_id AND s.epoch = r.epoch ORDER BY r.robot_id",
        )?;
        let rows = stmt.query_map([], |r| {
            let telemetry: Option<String> = r.get(7)?;
            Ok(RobotRow {
                robot_id: r.get(0)?,
                presence: r.get(1)?,
                presence_at_ms: r.get(2)?,
                last_seen_ms: r.get(3)?,
                epoch: r.get(4)?,
                held_through: r.get(5)?,
                records: r.get(6)?,
                telemetry: telemetry.and_then(|t| serde_json::from_str(&t).ok()),
                stopped: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every fleet place, by name.
    pub fn fleet_places(&self) -> Result<Vec<FleetPlace>, HostError> {
        let mut stmt =
            self.conn.prepare("SELECT name, x, y, heading_deg, hlc, origin FROM fleet_places ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(FleetPlace {
                name: r.get(0)?,
                x: r.get(1)?,
                y: r.get(2)?,
                heading_deg: r.get(3)?,
                hlc: Hlc::unpack(r.get(4)?),
                origin: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Mirrored records of one robot (its current memory file) whose text
    /// contains `query` (case-insensitive), newest first.
    pub fn search(&self, robot_id: &str, query: &str, limit: usize) -> Result<Vec<MirrorRecord>, HostError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // instr() rather than LIKE: the query is data, not a pattern.
        let mut stmt = self.conn.prepare(
            "SELECT c.robot_id, c.epoch, c.seq, c.kind, c.uid, c.hlc, c.body, c.received_at_ms FROM records c \
             JOIN robots r ON r.robot_id = c.robot_id AND r.epoch = c.epoch \
             WHERE c.robot_id = ?1 AND instr(c.search, ?2) > 0 ORDER BY c.seq DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![robot_id, query.trim().to_lowercase(), limit], |r| {
            let body: String = r.get(6)?;
            Ok(MirrorRecord {
                robot_id: r.get(0)?,
                epoch: r.get(1)?,
                seq: r.get(2)?,
                kind: r.get(3)?,
                uid: r.get(4)?,
                hlc: Hlc::unpack(r.get(5)?),
                body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
                received_at_ms: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The sequence numbers held for one robot's memory file, ascending
    /// (the fault tests compare them with the robot's outbox).
    pub fn record_seqs(&self, robot_id: &str, epoch: i64) -> Result<Vec<i64>, HostError> {
        let mut stmt = self.conn.prepare("SELECT seq FROM records WHERE robot_id = ?1 AND epoch = ?2 ORDER BY seq")?;
        let rows = stmt.query_map(params![robot_id, epoch], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The number through which the host holds one robot's memory file.
    pub fn held_through(&self, robot_id: &str, epoch: i64) -> Result<i64, HostError> {
        Ok(self
            .conn
            .query_row(
                "SELECT held_through FROM streams WHERE robot_id = ?1 AND epoch = ?2",
                params![robot_id, epoch],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }
}

/// Last-writer-wins into the fleet's places; true when `p` won.
fn merge_fleet_place(tx: &rusqlite::Transaction<'_>, p: &FleetPlace, now_ms: i64) -> Result<bool, HostError> {
    if !(p.x.is_finite() && p.y.is_finite() && p.heading_deg.is_none_or(f64::is_finite)) {
        return Ok(false);
    }
    let local: Option<PlaceVersion> = tx
        .query_row("SELECT x, y, heading_deg, hlc FROM fleet_places WHERE name = ?1", [&p.name], |r| {
            Ok(PlaceVersion { x: r.get(0)?, y: r.get(1)?, heading_deg: r.get(2)?, hlc: Hlc::unpack(r.get(3)?) })
        })
        .optional()?;
    let remote = PlaceVersion { hlc: p.hlc, x: p.x, y: p.y, heading_deg: p.heading_deg };
    if !protocol::place_wins(&remote, local.as_ref()) {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO fleet_places (name, x, y, heading_deg, hlc, origin, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET x = excluded.x, y = excluded.y, \
         heading_deg = excluded.heading_deg, hlc = excluded.hlc, origin = excluded.origin, \
         updated_at_ms = excluded.updated_at_ms",
        params![p.name, p.x, p.y, p.heading_deg, p.hlc.pack(), p.origin, now_ms],
    )?;
    Ok(true)
}

fn kind_of(b: &RecordBody) -> &'static str {
    match b {
        RecordBody::Place { .. } => "place",
        RecordBody::Object { .. } => "object",
        RecordBody::Episode { .. } => "episode",
        RecordBody::Note { .. } => "note",
        RecordBody::Oversize { .. } => "oversize",
    }
}

/// The lower-cased text `robot host memory ... search` looks in.
fn search_text(b: &RecordBody) -> String {
    let s = match b {
        RecordBody::Place { name, source, .. } => format!("place {name} {}", source.as_str()),
        RecordBody::Object { label, colour, .. } => format!("object {label} {}", colour.as_deref().unwrap_or("")),
        RecordBody::Episode { command, program, decision, status, reason, .. } => {
            format!("episode {command}\n{program}\n{decision} {status} {reason}")
        }
        RecordBody::Note { note_kind, text, .. } => format!("{} {text}", note_kind.as_str()),
        RecordBody::Oversize { table, bytes } => format!("oversize {table} {bytes}"),
    };
    s.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_are_recorded_once_listed_and_cleared() {
        let db = HostDb::in_memory().unwrap();
        assert!(!db.is_stopped("rover-1").unwrap());
        db.record_stop("rover-1", "console", 1_000).unwrap();
        db.record_stop("rover-1", "console", 2_000).unwrap();
        db.record_stop("rover-2", "console", 3_000).unwrap();
        assert!(db.is_stopped("rover-1").unwrap());
        assert_eq!(db.stops().unwrap(), vec![("rover-1".to_string(), 1_000), ("rover-2".to_string(), 3_000)]);
        assert!(db.clear_stop("rover-1").unwrap());
        assert!(!db.clear_stop("rover-1").unwrap());
        assert!(!db.is_stopped("rover-1").unwrap());
        assert!(db.record_stop("robots/#", "console", 0).is_err(), "not a robot id");
    }

    #[test]
    fn a_version_1_database_gains_the_stops_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch("PRAGMA user_version = 1").unwrap();
        }
        let db = HostDb::open(&path).unwrap();
        db.record_stop("rover-1", "console", 5).unwrap();
        assert!(db.is_stopped("rover-1").unwrap());
    }
}
