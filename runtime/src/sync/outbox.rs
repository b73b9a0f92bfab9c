//! The robot's outbox: the memory database read as a log ordered by
//! `outbox_seq`, the durable acknowledged cursor, and the merge of places
//! pushed down by the host.
//!
//! It opens its own read connection to the memory file (WAL lets it read
//! while the executor writes through [`crate::memory::MemoryStore`]) and
//! reads the tables documented in the memory schema; it refuses a file of
//! any other schema version rather than misread it.
//!
//! The cursor (the memory file's epoch and the acknowledged number) lives in
//! a sidecar SQLite file beside the memory file (`<memory>.sync`), not in the
//! memory file itself: acks arrive often, and every write from a second
//! connection to the memory file can make a concurrent memory write fail
//! with `SQLITE_BUSY` (SQLite does not wait when a deferred transaction
//! upgrades from reading to writing). Losing the sidecar is safe: the robot
//! sends everything again under a new epoch, and nothing is lost. The only
//! writes to the memory file are merges of fleet places, and only when a
//! pushed place actually wins (a read-only pass decides first).
//!
//! Everything here is synchronous; the event loop calls it between awaits
//! (each call is one short SQLite transaction).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::protocol::{hlc_receive, place_wins, OutboxBatch, PlaceVersion};
use super::wire::{self, FleetPlace, Record, RecordBody, MAX_RECORD_BYTES};
use super::SyncError;
use crate::memory::{Hlc, NoteKind, PlaceSource, SCHEMA_VERSION};

/// How long a write waits for the executor's transaction to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest place name accepted from the host.
pub const MAX_PLACE_NAME: usize = 200;

/// What a merge of fleet places did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Places written (new, or newer than the robot's).
    pub applied: usize,
    /// Places the robot already had at the same or a newer version.
    pub unchanged: usize,
    /// Places refused: invalid numbers or names, or a board place's name.
    pub refused: usize,
}

/// The robot's outbox over its memory file. See the module docs.
#[derive(Debug)]
pub struct Outbox {
    conn: Connection,
    cursor: Connection,
    robot_id: String,
    epoch: i64,
}

/// The sidecar file that holds the cursor of the memory file at `memory`.
pub fn cursor_path(memory: &Path) -> PathBuf {
    let mut name = memory.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".sync");
    memory.with_file_name(name)
}

impl Outbox {
    /// Open the outbox of the memory file at `path` (created by
    /// [`crate::memory::MemoryStore`]). `epoch_if_new` names this file's
    /// number stream the first time sync opens it; pass something that
    /// differs between files, such as the current clock.
    pub fn open(path: impl AsRef<Path>, epoch_if_new: i64) -> Result<Outbox, SyncError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(SyncError::Invalid(format!("no memory database at {}", path.display())));
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Merged places must survive a power cut like every other memory write.
        conn.execute_batch("PRAGMA synchronous = FULL;")?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found != SCHEMA_VERSION {
            return Err(SyncError::Schema { found, known: SCHEMA_VERSION });
        }
        let robot_id: String = conn.query_row("SELECT robot_id FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        super::topics::validate_robot_id(&robot_id)?;
        let cursor = Connection::open(cursor_path(path))?;
        cursor.busy_timeout(BUSY_TIMEOUT)?;
        let _mode: String = cursor.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        cursor.execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS sync_outbox (
                id            INTEGER PRIMARY KEY CHECK (id = 1),
                robot_id      TEXT    NOT NULL,
                epoch         INTEGER NOT NULL,
                acked_through INTEGER NOT NULL
            );",
        )?;
        cursor.execute(
            "INSERT INTO sync_outbox (id, robot_id, epoch, acked_through) VALUES (1, ?1, ?2, 0) \
             ON CONFLICT (id) DO NOTHING",
            params![robot_id, epoch_if_new],
        )?;
        let (cursor_robot, epoch, acked): (String, i64, i64) =
            cursor.query_row("SELECT robot_id, epoch, acked_through FROM sync_outbox WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let last_seq: i64 = conn.query_row("SELECT last_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        // A cursor that does not belong to this file (another robot's, or one
        // ahead of the file: a memory file restored from a backup) would make
        // the robot skip records; start a new stream instead.
        let epoch = if cursor_robot != robot_id || acked > last_seq {
            let fresh = if epoch_if_new == epoch { epoch.wrapping_add(1) } else { epoch_if_new };
            cursor.execute(
                "UPDATE sync_outbox SET robot_id = ?1, epoch = ?2, acked_through = 0 WHERE id = 1",
                params![robot_id, fresh],
            )?;
            fresh
        } else {
            epoch
        };
        Ok(Outbox { conn, cursor, robot_id, epoch })
    }

    /// The robot id stamped in the memory file.
    pub fn robot_id(&self) -> &str {
        &self.robot_id
    }

    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// The number through which the host holds everything.
    pub fn acked(&self) -> Result<i64, SyncError> {
        Ok(self.cursor.query_row("SELECT acked_through FROM sync_outbox WHERE id = 1", [], |r| r.get(0))?)
    }

    /// Persist a new acknowledged number; it never goes backwards.
    pub fn set_acked(&self, through: i64) -> Result<(), SyncError> {
        self.cursor.execute("UPDATE sync_outbox SET acked_through = MAX(acked_through, ?1) WHERE id = 1", [through])?;
        Ok(())
    }

    /// The newest number handed out by the memory store.
    pub fn last_seq(&self) -> Result<i64, SyncError> {
        Ok(self.conn.query_row("SELECT last_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?)
    }

    /// The records after `after`, at most `max_records` and (beyond the
    /// first) `max_bytes` of encoded records, with the interval they cover.
    pub fn read_batch(&mut self, after: i64, max_records: usize, max_bytes: usize) -> Result<OutboxBatch, SyncError> {
        let max_records = max_records.max(1);
        let limit = i64::try_from(max_records).unwrap_or(i64::MAX);
        // One read transaction: `last_seq` and the rows come from the same
        // snapshot, so "nothing else up to last_seq" is true of that snapshot.
        let tx = self.conn.transaction()?;
        let last_seq: i64 = tx.query_row("SELECT last_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        let mut rows = read_places(&tx, after, limit)?;
        rows.extend(read_objects(&tx, after, limit)?);
        rows.extend(read_episodes(&tx, after, limit)?);
        rows.extend(read_notes(&tx, after, limit)?);
        tx.finish()?;
        rows.sort_by_key(|r| r.seq);
        // Each table returned at most `limit` rows; when the merged list has
        // fewer than `limit`, no table was cut short and everything up to
        // `last_seq` is here.
        let mut complete = rows.len() < max_records;
        rows.truncate(max_records);
        let mut records = Vec::with_capacity(rows.len());
        let mut bytes = 0usize;
        for mut r in rows {
            let mut size = wire::record_size(&r)?;
            if size > MAX_RECORD_BYTES {
                let table = table_of(&r.body).to_string();
                r.body = RecordBody::Oversize { table, bytes: size };
                size = wire::record_size(&r)?;
            }
            if !records.is_empty() && bytes.saturating_add(size) > max_bytes {
                complete = false;
                break;
            }
            bytes = bytes.saturating_add(size);
            records.push(r);
        }
        let through = match (complete, records.last()) {
            (true, _) | (false, None) => last_seq.max(after),
            (false, Some(r)) => r.seq,
        };
        Ok(OutboxBatch { from_seq: after, through_seq: through, records })
    }

    /// Merge places pushed down by the host (last writer wins by clock; see
    /// [`super::protocol`]). Each written place takes a new outbox number,
    /// so the host sees the robot's copy too; it carries the writer's clock,
    /// so that echo changes nothing there. At most `max_fleet_places` fleet
    /// places are kept: the least recently written go first.
    pub fn merge_places(&mut self, places: &[FleetPlace], max_fleet_places: usize) -> Result<MergeOutcome, SyncError> {
        // Read-only pass first: a robot coming online is pushed every fleet
        // place and usually has them all, and a write transaction that
        // changes nothing would still contend with the executor's writes.
        let mut any = false;
        for p in places {
            any |= decide(&self.conn, p)? == Decision::Wins;
        }
        if !any {
            let mut out = MergeOutcome::default();
            for p in places {
                match decide(&self.conn, p)? {
                    Decision::Refused => out.refused += 1,
                    _ => out.unchanged += 1,
                }
            }
            return Ok(out);
        }
        let mut out = MergeOutcome::default();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (mut last_seq, last_hlc): (i64, i64) =
            tx.query_row("SELECT last_seq, last_hlc FROM sync_state WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut clock = Hlc::unpack(last_hlc);
        for p in places {
            // Decided again inside the transaction: the executor may have
            // written the same name since the read-only pass.
            match decide(&tx, p)? {
                Decision::Refused => {
                    out.refused += 1;
                    continue;
                }
                Decision::Unchanged => {
                    out.unchanged += 1;
                    continue;
                }
                Decision::Wins => {}
            }
            last_seq = last_seq.checked_add(1).ok_or_else(|| SyncError::Invalid("sequence counter overflow".into()))?;
            let updated_us = i64::try_from(p.hlc.wall_ms.saturating_mul(1000)).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO places (name, x, y, heading_deg, source, updated_at_us, hlc, outbox_seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (name) DO UPDATE SET x = excluded.x, \
                 y = excluded.y, heading_deg = excluded.heading_deg, source = excluded.source, \
                 updated_at_us = excluded.updated_at_us, hlc = excluded.hlc, outbox_seq = excluded.outbox_seq",
                params![
                    p.name.trim(),
                    p.x,
                    p.y,
                    p.heading_deg,
                    PlaceSource::Fleet.as_str(),
                    updated_us,
                    p.hlc.pack(),
                    last_seq
                ],
            )?;
            clock = hlc_receive(clock, p.hlc);
            out.applied += 1;
        }
        tx.execute("UPDATE sync_state SET last_seq = ?1, last_hlc = ?2 WHERE id = 1", params![last_seq, clock.pack()])?;
        let cap = i64::try_from(max_fleet_places).unwrap_or(i64::MAX);
        tx.execute(
            "DELETE FROM places WHERE source = 'fleet' AND name IN (SELECT name FROM places WHERE source = 'fleet' \
             ORDER BY updated_at_us DESC, name LIMIT -1 OFFSET ?1)",
            [cap],
        )?;
        tx.commit()?;
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Refused,
    Unchanged,
    Wins,
}

/// What the merge rule says about one pushed place against the robot's copy.
fn decide(conn: &Connection, p: &FleetPlace) -> Result<Decision, SyncError> {
    let name = p.name.trim();
    let numbers_ok = p.x.is_finite() && p.y.is_finite() && p.heading_deg.is_none_or_finite();
    if name.is_empty() || name.len() > MAX_PLACE_NAME || !numbers_ok || p.hlc.wall_ms > Hlc::MAX_WALL_MS {
        return Ok(Decision::Refused);
    }
    let local: Option<(f64, f64, Option<f64>, String, i64)> = conn
        .query_row("SELECT x, y, heading_deg, source, hlc FROM places WHERE name = ?1", [name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let local = match local {
        Some((_, _, _, source, _)) if source == PlaceSource::Board.as_str() => return Ok(Decision::Refused),
        Some((x, y, heading_deg, _, hlc)) => Some(PlaceVersion { hlc: Hlc::unpack(hlc), x, y, heading_deg }),
        None => None,
    };
    let remote = PlaceVersion { hlc: p.hlc, x: p.x, y: p.y, heading_deg: p.heading_deg };
    Ok(if place_wins(&remote, local.as_ref()) { Decision::Wins } else { Decision::Unchanged })
}

trait FiniteOpt {
    fn is_none_or_finite(&self) -> bool;
}

impl FiniteOpt for Option<f64> {
    fn is_none_or_finite(&self) -> bool {
        self.is_none_or(f64::is_finite)
    }
}

fn table_of(b: &RecordBody) -> &'static str {
    match b {
        RecordBody::Place { .. } => "places",
        RecordBody::Object { .. } => "objects_seen",
        RecordBody::Episode { .. } => "episodes",
        RecordBody::Note { .. } => "notes",
        RecordBody::Oversize { .. } => "oversize",
    }
}

fn us(v: i64) -> u64 {
    v.max(0) as u64
}

fn corrupt(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
}

fn read_places(c: &Connection, after: i64, limit: i64) -> Result<Vec<Record>, SyncError> {
    let mut stmt = c.prepare_cached(
        "SELECT outbox_seq, hlc, name, x, y, heading_deg, source FROM places WHERE outbox_seq > ?1 \
         ORDER BY outbox_seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        let name: String = r.get(2)?;
        let source: String = r.get(6)?;
        let source = PlaceSource::parse(&source).map_err(|e| corrupt(e.to_string()))?;
        Ok(Record {
            seq: r.get(0)?,
            hlc: Hlc::unpack(r.get(1)?),
            uid: name.clone(),
            body: RecordBody::Place { name, x: r.get(3)?, y: r.get(4)?, heading_deg: r.get(5)?, source },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn read_objects(c: &Connection, after: i64, limit: i64) -> Result<Vec<Record>, SyncError> {
    let mut stmt = c.prepare_cached(
        "SELECT outbox_seq, hlc, uid, label, colour, x, y, seen_at_us FROM objects_seen WHERE outbox_seq > ?1 \
         ORDER BY outbox_seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok(Record {
            seq: r.get(0)?,
            hlc: Hlc::unpack(r.get(1)?),
            uid: r.get(2)?,
            body: RecordBody::Object {
                label: r.get(3)?,
                colour: r.get(4)?,
                x: r.get(5)?,
                y: r.get(6)?,
                seen_at_us: us(r.get(7)?),
            },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn read_episodes(c: &Connection, after: i64, limit: i64) -> Result<Vec<Record>, SyncError> {
    let mut stmt = c.prepare_cached(
        "SELECT outbox_seq, hlc, uid, command, program, decision, status, reason, steps, started_at_us, \
         ended_at_us FROM episodes WHERE outbox_seq > ?1 ORDER BY outbox_seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        let steps: String = r.get(8)?;
        // Steps the store wrote are JSON; if a row is damaged, send the text
        // rather than stall the outbox on it.
        let steps = serde_json::from_str(&steps).unwrap_or(serde_json::Value::String(steps));
        Ok(Record {
            seq: r.get(0)?,
            hlc: Hlc::unpack(r.get(1)?),
            uid: r.get(2)?,
            body: RecordBody::Episode {
                command: r.get(3)?,
                program: r.get(4)?,
                decision: r.get(5)?,
                status: r.get(6)?,
                reason: r.get(7)?,
                steps,
                started_at_us: us(r.get(9)?),
                ended_at_us: us(r.get(10)?),
            },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn read_notes(c: &Connection, after: i64, limit: i64) -> Result<Vec<Record>, SyncError> {
    let mut stmt = c.prepare_cached(
        "SELECT outbox_seq, hlc, uid, kind, text, created_at_us FROM notes WHERE outbox_seq > ?1 \
         ORDER BY outbox_seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        let kind: String = r.get(3)?;
        let note_kind = NoteKind::parse(&kind).map_err(|e| corrupt(e.to_string()))?;
        Ok(Record {
            seq: r.get(0)?,
            hlc: Hlc::unpack(r.get(1)?),
            uid: r.get(2)?,
            body: RecordBody::Note { note_kind, text: r.get(4)?, created_at_us: us(r.get(5)?) },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
