//! The in-memory semantic index behind `robot memory search`: one int8 row
//! per record (its embedding, quantized with one scale per row) plus the
//! record's kind, time and key, searched with the SIMD top-k kernel of
//! [`robot_models::kernels`].
//!
//! The index is a plain data structure; [`super::embedding`] keeps it in
//! step with the database. Filters (kind, time range) cost no copy of the
//! matrix: rows that do not match get a NaN scale in a scratch copy of the
//! scales, which the kernel never returns (its documented rule), so one
//! kernel call scans the whole contiguous matrix either way. Removing a row
//! leaves a tombstone (NaN scale) so positions stay put; the matrix is
//! compacted once tombstones outnumber live rows.

use std::collections::HashMap;

use robot_models::embed::QuantizedVec;
use robot_models::kernels;
use serde::{Deserialize, Serialize};

use super::MemoryError;

/// What kind of record a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Place,
    Object,
    Episode,
    Note,
}

impl RecordKind {
    pub const ALL: [RecordKind; 4] = [RecordKind::Place, RecordKind::Object, RecordKind::Episode, RecordKind::Note];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Place => "place",
            RecordKind::Object => "object",
            RecordKind::Episode => "episode",
            RecordKind::Note => "note",
        }
    }

    /// Parses `place`, `object`, `episode` or `note` (plurals too).
    pub fn parse(s: &str) -> Option<RecordKind> {
        let s = s.trim().to_ascii_lowercase();
        RecordKind::ALL.into_iter().find(|k| s == k.as_str() || s.strip_suffix('s') == Some(k.as_str()))
    }
}

/// Which records a search may return; `Default` is every record, 10 hits.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchFilter {
    /// Only this kind.
    pub kind: Option<RecordKind>,
    /// At or after this time (microseconds on the store's clock).
    pub since_us: Option<u64>,
    /// At or before this time.
    pub until_us: Option<u64>,
    /// At most this many hits, best first.
    pub limit: usize,
}

impl Default for SearchFilter {
    fn default() -> Self {
        SearchFilter { kind: None, since_us: None, until_us: None, limit: 10 }
    }
}

impl SearchFilter {
    fn is_open(&self) -> bool {
        self.kind.is_none() && self.since_us.is_none() && self.until_us.is_none()
    }

    fn admits(&self, kind: RecordKind, t_us: u64) -> bool {
        self.kind.is_none_or(|k| k == kind)
            && self.since_us.is_none_or(|s| t_us >= s)
            && self.until_us.is_none_or(|u| t_us <= u)
    }
}

/// What the index keeps about one record besides its vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexedRecord {
    pub kind: RecordKind,
    /// The record's stable key: its `uid` (a place: its name).
    pub key: String,
    /// The database row id (0 for places), which retention deletes by.
    #[serde(skip)]
    pub rowid: i64,
    /// The record's `outbox_seq` when it was embedded; a place that moved
    /// has a newer one and is embedded again.
    #[serde(skip)]
    pub seq: i64,
    /// The record's time: seen, started, created or updated.
    pub t_us: u64,
    /// The text that was embedded.
    pub text: String,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    #[serde(flatten)]
    pub record: IndexedRecord,
    /// Cosine similarity with the query (int8 approximation), -1 to 1.
    pub score: f32,
}

/// Rows of int8 vectors with their records. See the module docs.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    dim: usize,
    values: Vec<i8>,
    /// One per row; NaN marks a removed row.
    scales: Vec<f32>,
    records: Vec<Option<IndexedRecord>>,
    by_key: HashMap<(RecordKind, String), usize>,
    /// Live rows per kind, in [`RecordKind::ALL`] order.
    counts: [usize; 4],
}

fn slot(kind: RecordKind) -> usize {
    kind as usize
}

impl SearchIndex {
    /// An empty index of `dim`-long rows.
    pub fn new(dim: usize) -> SearchIndex {
        SearchIndex {
            dim,
            values: Vec::new(),
            scales: Vec::new(),
            records: Vec::new(),
            by_key: HashMap::new(),
            counts: [0; 4],
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Live rows.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Live rows of one kind.
    pub fn count(&self, kind: RecordKind) -> usize {
        self.counts[slot(kind)]
    }

    /// The record stored under `(kind, key)`.
    pub fn get(&self, kind: RecordKind, key: &str) -> Option<&IndexedRecord> {
        let &i = self.by_key.get(&(kind, key.to_string()))?;
        self.records.get(i)?.as_ref()
    }

    /// Every live record (any order).
    pub fn records(&self) -> impl Iterator<Item = &IndexedRecord> {
        self.records.iter().flatten()
    }

    /// Adds a record, or replaces the one with the same kind and key.
    pub fn upsert(&mut self, record: IndexedRecord, v: &QuantizedVec) -> Result<(), MemoryError> {
        if v.values.len() != self.dim {
            return Err(MemoryError::Invalid(format!(
                "embedding has {} values, expected {}",
                v.values.len(),
                self.dim
            )));
        }
        if !v.scale.is_finite() {
            return Err(MemoryError::Invalid("embedding scale is not finite".into()));
        }
        let key = (record.kind, record.key.clone());
        match self.by_key.get(&key) {
            Some(&i) => {
                self.values[i * self.dim..(i + 1) * self.dim].copy_from_slice(&v.values);
                if let Some(old) = &self.records[i] {
                    self.counts[slot(old.kind)] -= 1;
                }
                self.counts[slot(record.kind)] += 1;
                self.scales[i] = v.scale;
                self.records[i] = Some(record);
            }
            None => {
                self.counts[slot(record.kind)] += 1;
                self.by_key.insert(key, self.records.len());
                self.values.extend_from_slice(&v.values);
                self.scales.push(v.scale);
                self.records.push(Some(record));
            }
        }
        Ok(())
    }

    /// Removes a record; false when it was not there.
    pub fn remove(&mut self, kind: RecordKind, key: &str) -> bool {
        let Some(i) = self.by_key.remove(&(kind, key.to_string())) else { return false };
        self.counts[slot(kind)] -= 1;
        self.scales[i] = f32::NAN;
        self.records[i] = None;
        self.maybe_compact();
        true
    }

    /// Keeps only the records for which `keep` says yes; returns the
    /// removed ones.
    pub fn retain(&mut self, mut keep: impl FnMut(&IndexedRecord) -> bool) -> Vec<IndexedRecord> {
        let mut gone = Vec::new();
        for (i, entry) in self.records.iter_mut().enumerate() {
            if entry.as_ref().is_some_and(|r| !keep(r)) {
                if let Some(r) = entry.take() {
                    self.by_key.remove(&(r.kind, r.key.clone()));
                    self.counts[slot(r.kind)] -= 1;
                    self.scales[i] = f32::NAN;
                    gone.push(r);
                }
            }
        }
        self.maybe_compact();
        gone
    }

    /// Drops tombstones once they are the majority (and worth the copy).
    fn maybe_compact(&mut self) {
        let dead = self.records.len() - self.by_key.len();
        if dead < 1024 || dead * 2 < self.records.len() {
            return;
        }
        let (dim, mut w) = (self.dim, 0);
        for r in 0..self.records.len() {
            if self.records[r].is_none() {
                continue;
            }
            if w != r {
                self.values.copy_within(r * dim..(r + 1) * dim, w * dim);
                self.scales[w] = self.scales[r];
                self.records.swap(w, r);
            }
            w += 1;
        }
        self.values.truncate(w * dim);
        self.scales.truncate(w);
        self.records.truncate(w);
        self.by_key = self
            .records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| ((r.kind, r.key.clone()), i)))
            .collect();
    }

    /// The best `filter.limit` records for `query` that pass `filter`, best
    /// first (ties: the older row first).
    pub fn search(&self, query: &QuantizedVec, filter: &SearchFilter) -> Result<Vec<SearchHit>, MemoryError> {
        if query.values.len() != self.dim {
            return Err(MemoryError::Invalid(format!(
                "query has {} values, expected {}",
                query.values.len(),
                self.dim
            )));
        }
        let masked;
        let scales = if filter.is_open() {
            &self.scales
        } else {
            masked = self
                .scales
                .iter()
                .zip(&self.records)
                .map(|(&s, r)| match r {
                    Some(r) if filter.admits(r.kind, r.t_us) => s,
                    _ => f32::NAN,
                })
                .collect::<Vec<f32>>();
            &masked
        };
        let top = kernels::top_k_i8(&self.values, scales, self.dim, &query.values, query.scale, filter.limit)
            .map_err(|e| MemoryError::Invalid(format!("search kernel: {e}")))?;
        Ok(top
            .into_iter()
            .filter_map(|(i, score)| self.records.get(i)?.as_ref().map(|r| SearchHit { record: r.clone(), score }))
            .collect())
    }
}
