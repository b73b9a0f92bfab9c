//! Search by meaning over the host's mirror of one robot's memory
//! (`robot host memory ROBOT search`), with the same embedder, filters and
//! int8 index as the robot's own [`crate::memory::MemoryStore::search`].
//!
//! Vectors are stored in the host database (`record_embeddings`, keyed like
//! the records by robot, epoch and sequence number, created on first use)
//! so each mirrored record is embedded once, by the first search that needs
//! it; mirrored records are never deleted, so nothing else has to follow.
//! Every search reads the robot's current memory file's vectors into a
//! [`SearchIndex`]: a one-shot command pays that load, which is still far
//! below the time it takes to embed.

use std::collections::HashMap;

use robot_models::embed::QuantizedVec;
use rusqlite::params;
use serde::Serialize;

use super::{HostDb, HostError, MirrorRecord};
use crate::memory::{Hlc, IndexedRecord, RecordKind, SearchFilter, SearchIndex, TextEmbedder};
use crate::sync::wire::RecordBody;

const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS record_embeddings (
        robot_id  TEXT    NOT NULL,
        epoch     INTEGER NOT NULL,
        seq       INTEGER NOT NULL,
        model     TEXT    NOT NULL,
        scale     REAL    NOT NULL,
        vec       BLOB    NOT NULL,
        PRIMARY KEY (robot_id, epoch, seq)
    ) WITHOUT ROWID";

/// One result: the mirrored record and its similarity to the query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MirrorHit {
    #[serde(flatten)]
    pub record: MirrorRecord,
    /// The text that was embedded.
    pub text: String,
    /// Cosine similarity with the query (int8 approximation).
    pub score: f32,
}

/// What a mirrored record is embedded from and when it happened, as on the
/// robot (`memory/embedding.rs`); `None` for oversize markers.
fn text_and_time(body: &RecordBody, hlc: Hlc) -> Option<(RecordKind, String, u64)> {
    use crate::memory::embedding_text as text;
    Some(match body {
        RecordBody::Place { name, .. } => {
            (RecordKind::Place, text(RecordKind::Place, name, "", ""), hlc.wall_ms.saturating_mul(1000))
        }
        RecordBody::Object { label, seen_at_us, .. } => {
            (RecordKind::Object, text(RecordKind::Object, label, "", ""), *seen_at_us)
        }
        RecordBody::Episode { command, status, reason, started_at_us, .. } => {
            (RecordKind::Episode, text(RecordKind::Episode, command, status, reason), *started_at_us)
        }
        RecordBody::Note { note_kind, text: t, created_at_us } => {
            (RecordKind::Note, text(RecordKind::Note, t, note_kind.as_str(), ""), *created_at_us)
        }
        RecordBody::Oversize { .. } => return None,
    })
}

struct Row {
    epoch: i64,
    uid: String,
    kind: String,
    hlc: Hlc,
    body: String,
    received_at_ms: i64,
}

impl HostDb {
    /// The mirrored records of `robot_id`'s current memory file most similar
    /// in meaning to `query` that pass `filter`, best first.
    pub fn semantic_search(
        &self,
        embedder: &dyn TextEmbedder,
        robot_id: &str,
        query: &str,
        filter: &SearchFilter,
    ) -> Result<Vec<MirrorHit>, HostError> {
        let conn = self.conn();
        conn.execute_batch(TABLE_SQL)?;
        let model = embedder.model_id();
        let mut index = SearchIndex::new(embedder.dim());
        let mut rows: HashMap<i64, Row> = HashMap::new();
        let mut fresh: Vec<(i64, i64, QuantizedVec)> = Vec::new();
        {
            let mut stmt = conn.prepare(
                "SELECT c.epoch, c.seq, c.kind, c.uid, c.hlc, c.body, c.received_at_ms, e.scale, e.vec \
                 FROM records c JOIN robots r ON r.robot_id = c.robot_id AND r.epoch = c.epoch \
                 LEFT JOIN record_embeddings e ON e.robot_id = c.robot_id AND e.epoch = c.epoch AND e.seq = c.seq \
                 AND e.model = ?2 WHERE c.robot_id = ?1",
            )?;
            let mut q = stmt.query(params![robot_id, model])?;
            while let Some(r) = q.next()? {
                let (epoch, seq): (i64, i64) = (r.get(0)?, r.get(1)?);
                let row = Row {
                    epoch,
                    kind: r.get(2)?,
                    uid: r.get(3)?,
                    hlc: Hlc::unpack(r.get(4)?),
                    body: r.get(5)?,
                    received_at_ms: r.get(6)?,
                };
                // A body this runtime cannot read (a newer robot) is left out
                // of search rather than failing it.
                let Ok(body) = serde_json::from_str::<RecordBody>(&row.body) else { continue };
                let Some((kind, text, t_us)) = text_and_time(&body, row.hlc) else { continue };
                let stored = match (r.get::<_, Option<f64>>(7)?, r.get::<_, Option<Vec<u8>>>(8)?) {
                    (Some(scale), Some(bytes)) => {
                        QuantizedVec::from_bytes(&bytes, scale as f32).filter(|v| v.values.len() == index.dim())
                    }
                    _ => None,
                };
                let v = match stored {
                    Some(v) => v,
                    None => {
                        let v = embedder.embed_i8(&text)?;
                        fresh.push((epoch, seq, v.clone()));
                        v
                    }
                };
                let rec = IndexedRecord { kind, key: seq.to_string(), rowid: seq, seq, t_us, text };
                index.upsert(rec, &v).map_err(|e| HostError::Invalid(e.to_string()))?;
                rows.insert(seq, row);
            }
        }
        if !fresh.is_empty() {
            let tx = conn.unchecked_transaction()?;
            {
                let mut put = tx.prepare(
                    "INSERT OR REPLACE INTO record_embeddings (robot_id, epoch, seq, model, scale, vec) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for (epoch, seq, v) in &fresh {
                    put.execute(params![robot_id, epoch, seq, model, f64::from(v.scale), v.value_bytes()])?;
                }
            }
            tx.commit()?;
        }
        let q = embedder.embed_i8(query)?;
        let hits = index.search(&q, filter).map_err(|e| HostError::Invalid(e.to_string()))?;
        Ok(hits
            .into_iter()
            .filter_map(|h| {
                let row = rows.remove(&h.record.seq)?;
                let body = serde_json::from_str(&row.body).unwrap_or(serde_json::Value::String(row.body));
                Some(MirrorHit {
                    record: MirrorRecord {
                        robot_id: robot_id.to_string(),
                        epoch: row.epoch,
                        seq: h.record.seq,
                        kind: row.kind,
                        uid: row.uid,
                        hlc: row.hlc,
                        body,
                        received_at_ms: row.received_at_ms,
                    },
                    text: h.record.text,
                    score: h.score,
                })
            })
            .collect())
    }
}
