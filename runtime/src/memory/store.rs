//! [`MemoryStore`]: the typed API over the memory database.
//!
//! Every write is one transaction that takes the next per-robot sequence
//! number and hybrid-logical-clock value from `sync_state`, writes the
//! record, applies [`Retention`] and commits; when the method returns `Ok`
//! the record is durable (see the durability notes in [`super`]). The store
//! is a cheap handle (`Clone`) around one connection behind a mutex, so the
//! place memory, the skills and the executor can share it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use robot_hal::{Detection, Pose};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::embedding::Semantic;
use super::retention::{Retention, Table};
use super::schema::{self, Episode, EpisodeRecord, Hlc, NoteKind, NoteRecord, ObjectFilter, ObjectSeen};
use super::schema::{PlaceRecord, PlaceSource};
use super::MemoryError;

/// Colour words that `record_objects` lifts out of a label's first word.
const COLOURS: &[&str] = &[
    "red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black", "grey", "gray", "brown", "cyan",
    "magenta", "violet",
];

/// How a store is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Prefix of every appended record's `uid`; the board's `robot_id`.
    /// Only used when the file is created (the file keeps its first id).
    pub robot_id: String,
    pub retention: Retention,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { robot_id: "robot".into(), retention: Retention::default() }
    }
}

/// The robot's memory database. See the module docs of [`super`].
#[derive(Clone)]
pub struct MemoryStore {
    conn: Arc<Mutex<Connection>>,
    retention: Retention,
    robot_id: String,
    path: Option<PathBuf>,
    /// The sentence embedder and search index, shared by every clone
    /// (`embedding.rs`); empty until one is attached.
    pub(super) semantic: Arc<OnceLock<Arc<Semantic>>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("path", &self.path).field("robot_id", &self.robot_id).finish()
    }
}

/// Microseconds as SQLite's signed integer.
fn us(t: u64) -> Result<i64, MemoryError> {
    i64::try_from(t).map_err(|_| MemoryError::Invalid(format!("time {t} us is out of range")))
}

fn from_us(v: i64) -> u64 {
    v.max(0) as u64
}

fn finite(what: &str, v: f64) -> Result<f64, MemoryError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(MemoryError::Invalid(format!("{what} is not a finite number")))
    }
}

/// The colour word at the start of a label, if the label has more words.
pub(crate) fn colour_of(label: &str) -> Option<String> {
    let mut words = label.split_whitespace();
    let first = words.next()?.to_lowercase();
    (words.next().is_some() && COLOURS.contains(&first.as_str())).then_some(first)
}

/// Where a detection is in the world, from the robot's pose: the bearing is
/// measured from the heading, left (counter-clockwise) positive.
pub(crate) fn world_xy(robot: Pose, d: &Detection) -> (f64, f64) {
    let a = (robot.heading_deg + d.bearing_deg).to_radians();
    (robot.x + d.distance_m * a.cos(), robot.y + d.distance_m * a.sin())
}

/// The sequence number and clock value for the next record.
struct Stamp {
    seq: i64,
    hlc: Hlc,
}

/// Start a write transaction. `IMMEDIATE` takes the write lock at `BEGIN`,
/// where SQLite honours the busy timeout: a `DEFERRED` transaction reads
/// `sync_state` first and upgrades to writing later, and in WAL mode an
/// upgrade that finds another connection's newer commit fails at once with
/// "database is locked" instead of waiting (sync writes merged fleet places
/// to the same file from its own connection).
fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>, MemoryError> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn next_stamp(tx: &Transaction<'_>, t_us: u64) -> Result<Stamp, MemoryError> {
    let (last_seq, last_hlc): (i64, i64) =
        tx.query_row("SELECT last_seq, last_hlc FROM sync_state WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let seq = last_seq.checked_add(1).ok_or_else(|| MemoryError::Corrupt("sequence counter overflow".into()))?;
    let hlc = Hlc::tick(Hlc::unpack(last_hlc), t_us);
    tx.execute("UPDATE sync_state SET last_seq = ?1, last_hlc = ?2 WHERE id = 1", params![seq, hlc.pack()])?;
    Ok(Stamp { seq, hlc })
}

fn place_from_row(r: &Row<'_>) -> rusqlite::Result<(PlaceRecord, String)> {
    let heading: Option<f64> = r.get(3)?;
    let source: String = r.get(4)?;
    Ok((
        PlaceRecord {
            name: r.get(0)?,
            pose: Pose::new(r.get(1)?, r.get(2)?, heading.unwrap_or(0.0)),
            has_heading: heading.is_some(),
            source: PlaceSource::Board,
            updated_at_us: from_us(r.get(5)?),
            hlc: Hlc::unpack(r.get(6)?),
            outbox_seq: r.get(7)?,
        },
        source,
    ))
}

const PLACE_COLS: &str = "name, x, y, heading_deg, source, updated_at_us, hlc, outbox_seq";

fn finish_place((mut p, source): (PlaceRecord, String)) -> Result<PlaceRecord, MemoryError> {
    p.source = PlaceSource::parse(&source)?;
    Ok(p)
}

impl MemoryStore {
    /// Open (creating if needed) the memory file at `path` with default settings.
    pub fn open(path: impl AsRef<Path>) -> Result<MemoryStore, MemoryError> {
        Self::open_with(path, StoreConfig::default())
    }

    /// Open (creating if needed) the memory file at `path`.
    pub fn open_with(path: impl AsRef<Path>, config: StoreConfig) -> Result<MemoryStore, MemoryError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path)?;
        Self::from_connection(conn, config, Some(path))
    }

    /// A store that lives only as long as the process (simulated sessions).
    pub fn in_memory() -> Result<MemoryStore, MemoryError> {
        Self::in_memory_with(StoreConfig::default())
    }

    pub fn in_memory_with(config: StoreConfig) -> Result<MemoryStore, MemoryError> {
        Self::from_connection(Connection::open_in_memory()?, config, None)
    }

    fn from_connection(
        mut conn: Connection,
        config: StoreConfig,
        path: Option<PathBuf>,
    ) -> Result<MemoryStore, MemoryError> {
        if config.robot_id.trim().is_empty() {
            return Err(MemoryError::Invalid("the robot id is empty".into()));
        }
        schema::configure(&conn)?;
        schema::migrate(&mut conn, &config.robot_id)?;
        let robot_id: String = conn.query_row("SELECT robot_id FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
        Ok(MemoryStore {
            conn: Arc::new(Mutex::new(conn)),
            retention: config.retention,
            robot_id,
            path,
            semantic: Arc::default(),
        })
    }

    pub(super) fn lock(&self) -> Result<MutexGuard<'_, Connection>, MemoryError> {
        self.conn.lock().map_err(|_| MemoryError::Poisoned)
    }

    /// The robot id this file's records are stamped with.
    pub fn robot_id(&self) -> &str {
        &self.robot_id
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// The last sequence number handed out (0 for a fresh file).
    pub fn last_seq(&self) -> Result<i64, MemoryError> {
        Ok(self.lock()?.query_row("SELECT last_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?)
    }

    /// `PRAGMA integrity_check`: `"ok"` for a sound file.
    pub fn integrity_check(&self) -> Result<String, MemoryError> {
        Ok(self.lock()?.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    fn uid(&self, seq: i64) -> String {
        format!("{}:{seq}", self.robot_id)
    }

    /// Run `f` on the connection (tests inspect pragmas with it).
    #[cfg(test)]
    pub(crate) fn with_conn_for_test<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let conn = self.conn.lock().map_err(|_| rusqlite::Error::InvalidQuery)?;
        f(&conn)
    }

    // ---- places ----

    /// Store (or move) a place remembered on this robot.
    pub fn remember_place(&self, name: &str, pose: Pose, t_us: u64) -> Result<PlaceRecord, MemoryError> {
        self.put_place(name, pose, true, PlaceSource::Remembered, t_us)
    }

    /// Store (or move) a place from any source; `has_heading = false` stores
    /// no heading (the robot keeps its last heading on arrival).
    pub fn put_place(
        &self,
        name: &str,
        pose: Pose,
        has_heading: bool,
        source: PlaceSource,
        t_us: u64,
    ) -> Result<PlaceRecord, MemoryError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(MemoryError::Invalid("a place needs a name".into()));
        }
        let (x, y) = (finite("place x", pose.x)?, finite("place y", pose.y)?);
        let heading = if has_heading { Some(finite("place heading", pose.heading_deg)?) } else { None };
        let t = us(t_us)?;
        let mut conn = self.lock()?;
        let tx = write_tx(&mut conn)?;
        let s = next_stamp(&tx, t_us)?;
        tx.execute(
            "INSERT INTO places (name, x, y, heading_deg, source, updated_at_us, hlc, outbox_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (name) DO UPDATE SET x = excluded.x, y = excluded.y, \
             heading_deg = excluded.heading_deg, source = excluded.source, updated_at_us = excluded.updated_at_us, \
             hlc = excluded.hlc, outbox_seq = excluded.outbox_seq",
            params![name, x, y, heading, source.as_str(), t, s.hlc.pack(), s.seq],
        )?;
        self.retention.enforce_places(&tx)?;
        tx.commit()?;
        drop(conn);
        self.after_write();
        Ok(PlaceRecord {
            name: name.to_string(),
            pose: Pose::new(x, y, heading.unwrap_or(0.0)),
            has_heading,
            source,
            updated_at_us: t_us,
            hlc: s.hlc,
            outbox_seq: s.seq,
        })
    }

    /// Make the store's board places match the board file: add missing ones
    /// and move changed ones, but never overwrite a place that was
    /// remembered or shared by the fleet under the same name. Unchanged
    /// places take no sequence number, so restarting writes nothing.
    pub fn sync_board_places(&self, board: &[(String, Pose, bool)], t_us: u64) -> Result<usize, MemoryError> {
        let mut changed = 0;
        for (name, pose, has_heading) in board {
            let keep = match self.place(name)? {
                None => false,
                Some(p) if p.source != PlaceSource::Board => true,
                Some(p) => {
                    p.has_heading == *has_heading
                        && p.pose.x == pose.x
                        && p.pose.y == pose.y
                        && (!has_heading || p.pose.heading_deg == pose.heading_deg)
                }
            };
            if !keep {
                self.put_place(name, *pose, *has_heading, PlaceSource::Board, t_us)?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    pub fn place(&self, name: &str) -> Result<Option<PlaceRecord>, MemoryError> {
        let conn = self.lock()?;
        let row = conn
            .query_row(&format!("SELECT {PLACE_COLS} FROM places WHERE name = ?1"), [name.trim()], place_from_row)
            .optional()?;
        row.map(finish_place).transpose()
    }

    /// Every stored place, by name.
    pub fn places(&self) -> Result<Vec<PlaceRecord>, MemoryError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!("SELECT {PLACE_COLS} FROM places ORDER BY name"))?;
        let rows = stmt.query_map([], place_from_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(finish_place).collect()
    }

    // ---- objects ----

    /// Store what one look saw, in world coordinates from the robot's pose.
    /// All detections go in one transaction; a non-finite number refuses the
    /// whole batch.
    pub fn record_objects(&self, seen: &[Detection], robot: Pose, t_us: u64) -> Result<Vec<ObjectSeen>, MemoryError> {
        for d in seen {
            finite("detection bearing", d.bearing_deg)?;
            finite("detection distance", d.distance_m)?;
        }
        for (what, v) in [("robot x", robot.x), ("robot y", robot.y), ("robot heading", robot.heading_deg)] {
            finite(what, v)?;
        }
        let t = us(t_us)?;
        let mut conn = self.lock()?;
        let tx = write_tx(&mut conn)?;
        let mut out = Vec::with_capacity(seen.len());
        for d in seen {
            let s = next_stamp(&tx, t_us)?;
            let label = d.label.trim().to_lowercase();
            let colour = colour_of(&label);
            let (x, y) = world_xy(robot, d);
            let uid = self.uid(s.seq);
            tx.execute(
                "INSERT INTO objects_seen (uid, label, colour, x, y, seen_at_us, hlc, outbox_seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![uid, label, colour, x, y, t, s.hlc.pack(), s.seq],
            )?;
            let id = tx.last_insert_rowid();
            out.push(ObjectSeen { id, uid, label, colour, x, y, seen_at_us: t_us, hlc: s.hlc, outbox_seq: s.seq });
        }
        self.retention.enforce(&tx, Table::Objects)?;
        tx.commit()?;
        drop(conn);
        self.after_write();
        Ok(out)
    }

    /// Every distinct object label, in order (what the speech recognizer
    /// should expect to hear; one short query however many sightings).
    pub fn object_labels(&self) -> Result<Vec<String>, MemoryError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare("SELECT DISTINCT label FROM objects_seen ORDER BY label")?;
        let rows = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    }

    /// Objects seen, newest first, narrowed by `filter`.
    pub fn objects(&self, filter: &ObjectFilter) -> Result<Vec<ObjectSeen>, MemoryError> {
        let label = filter.label_contains.as_deref().map(|l| l.trim().to_lowercase()).unwrap_or_default();
        let since = filter.since_us.map(us).transpose()?.unwrap_or(0);
        let until = filter.until_us.map(us).transpose()?.unwrap_or(i64::MAX);
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)).unwrap_or(-1);
        let conn = self.lock()?;
        // instr() rather than LIKE: the label text is data, not a pattern.
        let mut stmt = conn.prepare(
            "SELECT id, uid, label, colour, x, y, seen_at_us, hlc, outbox_seq FROM objects_seen \
             WHERE instr(label, ?1) > 0 AND seen_at_us >= ?2 AND seen_at_us <= ?3 ORDER BY id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![label, since, until, limit], |r| {
            Ok(ObjectSeen {
                id: r.get(0)?,
                uid: r.get(1)?,
                label: r.get(2)?,
                colour: r.get(3)?,
                x: r.get(4)?,
                y: r.get(5)?,
                seen_at_us: from_us(r.get(6)?),
                hlc: Hlc::unpack(r.get(7)?),
                outbox_seq: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    // ---- episodes ----

    pub fn record_episode(&self, e: &EpisodeRecord) -> Result<Episode, MemoryError> {
        let steps = serde_json::to_string(&e.steps).map_err(|err| MemoryError::Invalid(err.to_string()))?;
        let (started, ended) = (us(e.started_at_us)?, us(e.ended_at_us)?);
        let mut conn = self.lock()?;
        let tx = write_tx(&mut conn)?;
        let s = next_stamp(&tx, e.ended_at_us)?;
        let uid = self.uid(s.seq);
        tx.execute(
            "INSERT INTO episodes (uid, command, program, decision, status, reason, steps, started_at_us, \
             ended_at_us, hlc, outbox_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                uid,
                e.command,
                e.program,
                e.decision,
                e.status,
                e.reason,
                steps,
                started,
                ended,
                s.hlc.pack(),
                s.seq
            ],
        )?;
        let id = tx.last_insert_rowid();
        self.retention.enforce(&tx, Table::Episodes)?;
        tx.commit()?;
        drop(conn);
        self.after_write();
        Ok(Episode { id, uid, record: e.clone(), hlc: s.hlc, outbox_seq: s.seq })
    }

    /// The newest `limit` episodes, newest first.
    pub fn episodes(&self, limit: usize) -> Result<Vec<Episode>, MemoryError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT id, uid, command, program, decision, status, reason, steps, started_at_us, ended_at_us, hlc, \
             outbox_seq FROM episodes ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            let steps: String = r.get(7)?;
            Ok((
                Episode {
                    id: r.get(0)?,
                    uid: r.get(1)?,
                    record: EpisodeRecord {
                        command: r.get(2)?,
                        program: r.get(3)?,
                        decision: r.get(4)?,
                        status: r.get(5)?,
                        reason: r.get(6)?,
                        steps: serde_json::Value::Null,
                        started_at_us: from_us(r.get(8)?),
                        ended_at_us: from_us(r.get(9)?),
                    },
                    hlc: Hlc::unpack(r.get(10)?),
                    outbox_seq: r.get(11)?,
                },
                steps,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut e, steps) = row?;
            e.record.steps = serde_json::from_str(&steps)
                .map_err(|err| MemoryError::Corrupt(format!("episode {} steps: {err}", e.id)))?;
            out.push(e);
        }
        Ok(out)
    }

    // ---- notes ----

    pub fn add_note(&self, kind: NoteKind, text: &str, t_us: u64) -> Result<NoteRecord, MemoryError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(MemoryError::Invalid("a note needs text".into()));
        }
        let t = us(t_us)?;
        let mut conn = self.lock()?;
        let tx = write_tx(&mut conn)?;
        let s = next_stamp(&tx, t_us)?;
        let uid = self.uid(s.seq);
        tx.execute(
            "INSERT INTO notes (uid, kind, text, created_at_us, hlc, outbox_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![uid, kind.as_str(), text, t, s.hlc.pack(), s.seq],
        )?;
        let id = tx.last_insert_rowid();
        self.retention.enforce(&tx, Table::Notes)?;
        tx.commit()?;
        drop(conn);
        self.after_write();
        Ok(NoteRecord { id, uid, kind, text: text.to_string(), created_at_us: t_us, hlc: s.hlc, outbox_seq: s.seq })
    }

    /// The newest `limit` notes (of one kind, or all), newest first.
    pub fn notes(&self, kind: Option<NoteKind>, limit: usize) -> Result<Vec<NoteRecord>, MemoryError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT id, uid, kind, text, created_at_us, hlc, outbox_seq FROM notes \
             WHERE ?1 IS NULL OR kind = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows =
            stmt.query_map(params![kind.map(NoteKind::as_str), i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, uid, kind, text, t, hlc, seq) = row?;
            out.push(NoteRecord {
                id,
                uid,
                kind: NoteKind::parse(&kind)?,
                text,
                created_at_us: from_us(t),
                hlc: Hlc::unpack(hlc),
                outbox_seq: seq,
            });
        }
        Ok(out)
    }
}
