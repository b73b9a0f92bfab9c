//! Keeps the semantic [`SearchIndex`] of a [`MemoryStore`] in step with its
//! database, and stores each record's int8 embedding so that it is computed
//! once per record, not once per process.
//!
//! An embedder is attached with [`MemoryStore::attach_embedder`]. From then
//! on every write method refreshes the index after its commit (so a record
//! is embedded when it is written), and every search refreshes it first (so
//! records written before the attach, or by another connection such as the
//! sync link or a running robot while `robot memory search` reads, are
//! embedded lazily, and deleted ones drop out).
//!
//! A refresh reads, in one snapshot: records whose `outbox_seq` is above the
//! highest one indexed (inserts and moved places: every write takes the next
//! number), the lowest row id of each append-only table (retention deletes
//! the oldest rows, the only way those rows go) and the number of places
//! (a changed count, or any place written, triggers a check of the names). It then embeds the
//! records that have no stored vector from this model, outside the
//! connection's lock, and writes the new vectors and the deletions to the
//! `memory_embeddings` table (created on attach; keyed by kind and the
//! record's uid or place name) in one transaction.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use robot_models::embed::{EmbedError, Embedder, QuantizedVec, EMBED_DIM};
use rusqlite::{params, Connection, TransactionBehavior};

use super::search::{IndexedRecord, RecordKind, SearchFilter, SearchHit, SearchIndex};
use super::{MemoryError, MemoryStore};

/// Turns text into an int8 embedding; [`Embedder`] in the robot, simpler
/// fakes in tests.
pub trait TextEmbedder: Send + Sync {
    /// Names the exact model; vectors from another model are not reused.
    fn model_id(&self) -> &str;
    /// Length of every vector.
    fn dim(&self) -> usize;
    fn embed_i8(&self, text: &str) -> Result<QuantizedVec, EmbedError>;
}

impl TextEmbedder for Embedder {
    fn model_id(&self) -> &str {
        Embedder::model_id(self)
    }

    fn dim(&self) -> usize {
        EMBED_DIM
    }

    fn embed_i8(&self, text: &str) -> Result<QuantizedVec, EmbedError> {
        Embedder::embed_i8(self, text)
    }
}

const TABLE_SQL: &str = "
    CREATE TABLE IF NOT EXISTS memory_embeddings (
        kind   TEXT    NOT NULL,
        id     TEXT    NOT NULL,
        rid    INTEGER NOT NULL,
        seq    INTEGER NOT NULL,
        model  TEXT    NOT NULL,
        scale  REAL    NOT NULL,
        vec    BLOB    NOT NULL,
        PRIMARY KEY (kind, id)
    );
    CREATE INDEX IF NOT EXISTS memory_embeddings_rid ON memory_embeddings (kind, rid);
";

/// The query that lists one kind's records above a sequence number, with
/// the stored vector (if any, from model `?2`). Columns: row id, key, seq,
/// time, text parts (up to three), stored seq, scale, vector.
fn source_sql(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Place => {
            "SELECT 0, s.name, s.outbox_seq, s.updated_at_us, s.name, '', '', e.seq, e.scale, e.vec FROM places s \
             LEFT JOIN memory_embeddings e ON e.kind = 'place' AND e.id = s.name AND e.model = ?2 \
             WHERE s.outbox_seq > ?1"
        }
        RecordKind::Object => {
            "SELECT s.id, s.uid, s.outbox_seq, s.seen_at_us, s.label, '', '', e.seq, e.scale, e.vec FROM objects_seen s \
             LEFT JOIN memory_embeddings e ON e.kind = 'object' AND e.id = s.uid AND e.model = ?2 \
             WHERE s.outbox_seq > ?1"
        }
        RecordKind::Episode => {
            "SELECT s.id, s.uid, s.outbox_seq, s.started_at_us, s.command, s.status, s.reason, e.seq, e.scale, e.vec \
             FROM episodes s LEFT JOIN memory_embeddings e ON e.kind = 'episode' AND e.id = s.uid AND e.model = ?2 \
             WHERE s.outbox_seq > ?1"
        }
        RecordKind::Note => {
            "SELECT s.id, s.uid, s.outbox_seq, s.created_at_us, s.text, s.kind, '', e.seq, e.scale, e.vec FROM notes s \
             LEFT JOIN memory_embeddings e ON e.kind = 'note' AND e.id = s.uid AND e.model = ?2 \
             WHERE s.outbox_seq > ?1"
        }
    }
}

/// The append-only table of a kind (retention deletes its lowest ids).
fn append_table(kind: RecordKind) -> Option<&'static str> {
    match kind {
        RecordKind::Place => None,
        RecordKind::Object => Some("objects_seen"),
        RecordKind::Episode => Some("episodes"),
        RecordKind::Note => Some("notes"),
    }
}

/// The text a record is embedded from: what a person would search for.
pub(crate) fn record_text(kind: RecordKind, a: &str, b: &str, c: &str) -> String {
    match kind {
        // `front_door` reads as two words.
        RecordKind::Place => a.replace(['_', '-'], " "),
        RecordKind::Object => a.to_string(),
        // The command, and why it ended as it did when there is a reason.
        RecordKind::Episode if !c.trim().is_empty() => format!("{a} ({b}: {c})"),
        RecordKind::Episode => a.to_string(),
        RecordKind::Note if b == "preference" => format!("preference: {a}"),
        RecordKind::Note => a.to_string(),
    }
}

/// A record found by a refresh, with its stored vector when that is current.
struct Found {
    record: IndexedRecord,
    stored: Option<QuantizedVec>,
}

/// What one refresh read from the database.
struct Snapshot {
    found: Vec<Found>,
    /// Lowest row id per append-only kind (`None`: the table is empty).
    min_ids: [(RecordKind, Option<i64>); 3],
    /// Place names, only when the count differs from the index's.
    place_names: Option<HashSet<String>>,
}

struct State {
    index: SearchIndex,
    /// Highest `outbox_seq` indexed.
    watermark: i64,
    /// Lowest row id seen per append-only kind at the last refresh.
    min_ids: [Option<i64>; 3],
}

/// An attached embedder and its index.
pub(crate) struct Semantic {
    embedder: Arc<dyn TextEmbedder>,
    state: Mutex<State>,
}

impl Semantic {
    fn state(&self) -> Result<MutexGuard<'_, State>, MemoryError> {
        self.state.lock().map_err(|_| MemoryError::Poisoned)
    }
}

fn read_snapshot(conn: &Connection, st: &State, model: &str) -> Result<Snapshot, MemoryError> {
    // One read transaction: the inserts and the deletions are seen at the
    // same instant.
    let tx = conn.unchecked_transaction()?;
    let mut found = Vec::new();
    for kind in RecordKind::ALL {
        let mut stmt = tx.prepare_cached(source_sql(kind))?;
        let mut rows = stmt.query(params![st.watermark, model])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(2)?;
            let t: i64 = r.get(3)?;
            let (a, b, c): (String, String, String) = (r.get(4)?, r.get(5)?, r.get(6)?);
            let stored_seq: Option<i64> = r.get(7)?;
            let stored = match (stored_seq, r.get::<_, Option<f64>>(8)?, r.get::<_, Option<Vec<u8>>>(9)?) {
                (Some(s), Some(scale), Some(bytes)) if s == seq => {
                    QuantizedVec::from_bytes(&bytes, scale as f32).filter(|v| v.values.len() == st.index.dim())
                }
                _ => None,
            };
            let record = IndexedRecord {
                kind,
                key: r.get(1)?,
                rowid: r.get(0)?,
                seq,
                t_us: t.max(0) as u64,
                text: record_text(kind, &a, &b, &c),
            };
            found.push(Found { record, stored });
        }
    }
    let mut min_ids = [(RecordKind::Object, None), (RecordKind::Episode, None), (RecordKind::Note, None)];
    for (kind, min) in &mut min_ids {
        if let Some(t) = append_table(*kind) {
            *min = tx.query_row(&format!("SELECT MIN(id) FROM {t}"), [], |r| r.get(0))?;
        }
    }
    // A new or moved place can hide a deleted one in the count, so any
    // place change also checks the names (places are few).
    let places: i64 = tx.query_row("SELECT COUNT(*) FROM places", [], |r| r.get(0))?;
    let place_changed = found.iter().any(|f| f.record.kind == RecordKind::Place);
    let place_names = if place_changed || usize::try_from(places).ok() != Some(st.index.count(RecordKind::Place)) {
        let mut stmt = tx.prepare("SELECT name FROM places")?;
        let names = stmt.query_map([], |r| r.get(0))?.collect::<Result<HashSet<String>, _>>()?;
        Some(names)
    } else {
        None
    };
    Ok(Snapshot { found, min_ids, place_names })
}

impl MemoryStore {
    /// Attaches a sentence embedder: from now on writes embed their records
    /// and [`MemoryStore::search`] works. Creates the vector table if the
    /// file has none and drops vectors from other models. Records already
    /// in the file are embedded at the first search (or
    /// [`MemoryStore::refresh_search_index`]).
    pub fn attach_embedder(&self, embedder: Arc<dyn TextEmbedder>) -> Result<(), MemoryError> {
        {
            let conn = self.lock()?;
            conn.execute_batch(TABLE_SQL)?;
            conn.execute("DELETE FROM memory_embeddings WHERE model != ?1", [embedder.model_id()])?;
        }
        let state = State { index: SearchIndex::new(embedder.dim()), watermark: 0, min_ids: [None; 3] };
        let semantic = Arc::new(Semantic { embedder, state: Mutex::new(state) });
        self.semantic
            .set(semantic)
            .map_err(|_| MemoryError::Invalid("an embedder is already attached to this store".into()))
    }

    /// Whether [`MemoryStore::attach_embedder`] was called (on any clone).
    pub fn has_embedder(&self) -> bool {
        self.semantic.get().is_some()
    }

    fn semantic_or_err(&self) -> Result<&Arc<Semantic>, MemoryError> {
        self.semantic.get().ok_or(MemoryError::NoEmbedder)
    }

    /// Called by the write methods after their commit: embed what was just
    /// written. A failure here must not fail the write, which is already
    /// durable; the next search retries the same records.
    pub(super) fn after_write(&self) {
        if self.semantic.get().is_some() {
            let _ = self.refresh_search_index();
        }
    }

    /// Brings the index up to date with the file; returns how many records
    /// were embedded now.
    pub fn refresh_search_index(&self) -> Result<usize, MemoryError> {
        let sem = self.semantic_or_err()?;
        let model = sem.embedder.model_id().to_string();
        let mut st = sem.state()?;
        let snap = {
            let conn = self.lock()?;
            read_snapshot(&conn, &st, &model)?
        };

        // Deletions first, so that a reused key is not removed after its
        // new record went in.
        let mut gone_below = Vec::new();
        for (i, (kind, min)) in snap.min_ids.iter().enumerate() {
            if st.min_ids[i] != *min || (min.is_none() && st.index.count(*kind) > 0) {
                let (kind, min) = (*kind, *min);
                let floor = min.unwrap_or(i64::MAX);
                st.index.retain(|r| r.kind != kind || r.rowid >= floor);
                st.min_ids[i] = min;
                gone_below.push((kind, floor));
            }
        }
        let mut gone_places = Vec::new();
        if let Some(names) = &snap.place_names {
            gone_places = st
                .index
                .retain(|r| r.kind != RecordKind::Place || names.contains(&r.key))
                .into_iter()
                .map(|r| r.key)
                .collect();
        }

        // Embedding is the slow part: done without the connection's lock.
        let mut fresh = Vec::new();
        let mut watermark = st.watermark;
        let mut embedded = 0;
        for f in snap.found {
            watermark = watermark.max(f.record.seq);
            let v = match f.stored {
                Some(v) => v,
                None => {
                    let v = sem.embedder.embed_i8(&f.record.text)?;
                    fresh.push((f.record.clone(), v.clone()));
                    embedded += 1;
                    v
                }
            };
            st.index.upsert(f.record, &v)?;
        }

        if !fresh.is_empty() || !gone_below.is_empty() || !gone_places.is_empty() {
            let mut conn = self.lock()?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (kind, floor) in &gone_below {
                tx.execute(
                    "DELETE FROM memory_embeddings WHERE kind = ?1 AND rid < ?2",
                    params![kind.as_str(), floor],
                )?;
            }
            for name in &gone_places {
                tx.execute("DELETE FROM memory_embeddings WHERE kind = 'place' AND id = ?1", [name])?;
            }
            {
                let mut put = tx.prepare_cached(
                    "INSERT OR REPLACE INTO memory_embeddings (kind, id, rid, seq, model, scale, vec) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for (r, v) in &fresh {
                    put.execute(params![
                        r.kind.as_str(),
                        r.key,
                        r.rowid,
                        r.seq,
                        model,
                        f64::from(v.scale),
                        v.value_bytes()
                    ])?;
                }
            }
            tx.commit()?;
        }
        st.watermark = watermark;
        Ok(embedded)
    }

    /// Records indexed for search (after the last refresh).
    pub fn search_index_len(&self) -> Result<usize, MemoryError> {
        Ok(self.semantic_or_err()?.state()?.index.len())
    }

    /// The records most similar in meaning to `query` that pass `filter`,
    /// best first. Needs an attached embedder ([`MemoryError::NoEmbedder`]
    /// otherwise); refreshes the index first.
    pub fn search(&self, query: &str, filter: &SearchFilter) -> Result<Vec<SearchHit>, MemoryError> {
        let q = self.semantic_or_err()?.embedder.embed_i8(query)?;
        self.search_embedded(&q, filter)
    }

    /// [`MemoryStore::search`] with the query already embedded.
    pub fn search_embedded(&self, query: &QuantizedVec, filter: &SearchFilter) -> Result<Vec<SearchHit>, MemoryError> {
        self.refresh_search_index()?;
        self.semantic_or_err()?.state()?.index.search(query, filter)
    }
}
