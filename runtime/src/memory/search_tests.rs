//! Tests of memory search: the index follows inserts, moves and retention
//! deletes (also ones made by another connection), filters work, vectors
//! are stored once, and the real model ranks by meaning.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use robot_hal::{Detection, Pose};
use robot_models::embed::{cosine, EmbedError, Embedder, QuantizedVec};

use super::*;

const DIM: usize = 64;

/// Bag of words hashed into `DIM` buckets: texts sharing words are close.
/// Counts its calls so tests can see when records are (re-)embedded.
#[derive(Default)]
struct WordHash {
    calls: AtomicUsize,
}

impl TextEmbedder for WordHash {
    fn model_id(&self) -> &str {
        "word-hash"
    }
    fn dim(&self) -> usize {
        DIM
    }
    fn embed_i8(&self, text: &str) -> Result<QuantizedVec, EmbedError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut v = vec![0.0f32; DIM];
        for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let h = w
                .to_lowercase()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            v[(h % DIM as u64) as usize] += 1.0;
        }
        Ok(QuantizedVec::quantize(&v))
    }
}

fn det(label: &str) -> Detection {
    Detection { label: label.into(), bearing_deg: 0.0, distance_m: 1.0 }
}

fn store(retention: Retention) -> (MemoryStore, Arc<WordHash>) {
    let s = MemoryStore::in_memory_with(StoreConfig { retention, ..Default::default() }).unwrap();
    let e = Arc::new(WordHash::default());
    s.attach_embedder(e.clone()).unwrap();
    (s, e)
}

fn all(limit: usize) -> SearchFilter {
    SearchFilter { limit, ..Default::default() }
}

fn keys(hits: &[SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.record.text.as_str()).collect()
}

fn stored_vectors(s: &MemoryStore) -> i64 {
    s.with_conn_for_test(|c| c.query_row("SELECT COUNT(*) FROM memory_embeddings", [], |r| r.get(0))).unwrap()
}

#[test]
fn search_needs_an_embedder() {
    let s = MemoryStore::in_memory().unwrap();
    assert!(matches!(s.search("ball", &all(5)), Err(MemoryError::NoEmbedder)));
    let (s, e) = store(Retention::default());
    assert!(s.attach_embedder(e).is_err());
}

#[test]
fn records_are_embedded_when_written_and_found_by_words() {
    let (s, e) = store(Retention::default());
    s.record_objects(&[det("red ball"), det("blue cup")], Pose::default(), 1_000).unwrap();
    s.add_note(NoteKind::Note, "the ball lives in the toy box", 2_000).unwrap();
    // Embedded at write time, before any search.
    assert_eq!(e.calls.load(Ordering::SeqCst), 3);
    assert_eq!(stored_vectors(&s), 3);
    let hits = s.search("red ball", &all(10)).unwrap();
    assert_eq!(hits[0].record.text, "red ball");
    assert_eq!(hits[0].record.kind, RecordKind::Object);
    assert!(hits[0].score > hits[1].score);
    // Only the query was embedded by the search.
    assert_eq!(e.calls.load(Ordering::SeqCst), 4);
}

#[test]
fn retention_deletes_leave_the_results() {
    let retention = Retention { max_objects: 3, max_notes: 2, ..Default::default() };
    let (s, _) = store(retention);
    for i in 0..6 {
        s.record_objects(&[det(&format!("ball number{i}"))], Pose::default(), i * 1_000).unwrap();
        s.add_note(NoteKind::Note, &format!("ball note{i}"), i * 1_000).unwrap();
    }
    let hits = s.search("ball", &all(100)).unwrap();
    let mut texts = keys(&hits);
    texts.sort_unstable();
    assert_eq!(texts, ["ball note4", "ball note5", "ball number3", "ball number4", "ball number5"]);
    assert_eq!(s.search_index_len().unwrap(), 5);
    assert_eq!(stored_vectors(&s), 5);
}

#[test]
fn places_move_and_go() {
    let retention = Retention { max_places: 1, ..Default::default() };
    let (s, _) = store(retention);
    s.put_place("front_door", Pose::new(1.0, 0.0, 0.0), false, PlaceSource::Board, 1).unwrap();
    s.remember_place("kitchen", Pose::new(2.0, 0.0, 0.0), 2).unwrap();
    let hits = s.search("front door", &all(10)).unwrap();
    assert_eq!(hits[0].record.key, "front_door");
    assert_eq!(hits[0].record.text, "front door");
    // The cap of one remembered place deletes the kitchen.
    s.remember_place("garage", Pose::new(3.0, 0.0, 0.0), 3).unwrap();
    let names: Vec<String> = s.search("kitchen garage", &all(10)).unwrap().into_iter().map(|h| h.record.key).collect();
    assert!(names.contains(&"garage".to_string()) && !names.contains(&"kitchen".to_string()), "{names:?}");
    // Moving a place re-embeds it with its new time.
    s.remember_place("garage", Pose::new(4.0, 0.0, 0.0), 9).unwrap();
    let g = s.search("garage", &SearchFilter { kind: Some(RecordKind::Place), ..all(1) }).unwrap();
    assert_eq!((g[0].record.key.as_str(), g[0].record.t_us), ("garage", 9));
    assert_eq!(s.search_index_len().unwrap(), 2);
}

#[test]
fn kind_and_time_filters() {
    let (s, _) = store(Retention::default());
    s.record_objects(&[det("red ball")], Pose::default(), 1_000).unwrap();
    s.record_objects(&[det("red ball")], Pose::default(), 5_000).unwrap();
    s.add_note(NoteKind::Preference, "red ball is the favourite", 3_000).unwrap();
    let notes = s.search("red ball", &SearchFilter { kind: Some(RecordKind::Note), ..all(10) }).unwrap();
    assert_eq!(keys(&notes), ["preference: red ball is the favourite"]);
    let window = SearchFilter { since_us: Some(2_000), until_us: Some(6_000), ..all(10) };
    let mut times: Vec<u64> = s.search("red ball", &window).unwrap().iter().map(|h| h.record.t_us).collect();
    times.sort_unstable();
    assert_eq!(times, [3_000, 5_000]);
    let none = SearchFilter { kind: Some(RecordKind::Episode), ..all(10) };
    assert!(s.search("red ball", &none).unwrap().is_empty());
}

#[test]
fn older_records_are_backfilled_once_and_other_writers_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memory.db");
    let writer = MemoryStore::open(&path).unwrap();
    writer.record_objects(&[det("green bottle"), det("red ball")], Pose::default(), 10).unwrap();

    let (reader, e) = (MemoryStore::open(&path).unwrap(), Arc::new(WordHash::default()));
    reader.attach_embedder(e.clone()).unwrap();
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_eq!(top(&reader, "green bottle"), "green bottle");
    assert_eq!(e.calls.load(Ordering::SeqCst), 3, "two records backfilled, one query");

    // Another connection (no embedder) writes: the reader picks it up.
    writer.record_objects(&[det("green frog")], Pose::default(), 20).unwrap();
    assert_eq!(top(&reader, "green frog"), "green frog");
    assert_eq!(reader.search_index_len().unwrap(), 3);

    // A new process reuses the stored vectors: only queries are embedded.
    drop(reader);
    let (again, e2) = (MemoryStore::open(&path).unwrap(), Arc::new(WordHash::default()));
    again.attach_embedder(e2.clone()).unwrap();
    assert_eq!(top(&again, "red ball"), "red ball");
    assert_eq!(e2.calls.load(Ordering::SeqCst), 1);
    assert_eq!(stored_vectors(&again), 3);
}

fn top(s: &MemoryStore, q: &str) -> String {
    s.search(q, &all(1)).unwrap().into_iter().map(|h| h.record.text).next().unwrap_or_default()
}

/// Random inserts, replacements and deletions against a plain map: the
/// index must return exactly the brute-force top-k of the live rows.
#[test]
fn index_matches_brute_force_under_random_changes() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut index = SearchIndex::new(DIM);
    let mut model: HashMap<String, (QuantizedVec, u64)> = HashMap::new();
    let random_vec = |rng: &mut ChaCha8Rng| {
        QuantizedVec::quantize(&(0..DIM).map(|_| rng.gen_range(-1.0f32..1.0)).collect::<Vec<_>>())
    };
    for step in 0..6_000u64 {
        let key = format!("k{}", rng.gen_range(0..3_000));
        if rng.gen_bool(0.35) {
            assert_eq!(index.remove(RecordKind::Object, &key), model.remove(&key).is_some());
        } else {
            let v = random_vec(&mut rng);
            let rec = IndexedRecord {
                kind: RecordKind::Object,
                key: key.clone(),
                rowid: 0,
                seq: 0,
                t_us: step,
                text: key.clone(),
            };
            index.upsert(rec, &v).unwrap();
            model.insert(key, (v, step));
        }
        if step % 500 == 0 {
            // Retention-like sweep: everything older than a moving cut goes.
            let cut = step / 2;
            index.retain(|r| r.t_us >= cut);
            model.retain(|_, (_, t)| *t >= cut);
        }
        assert_eq!(index.len(), model.len());
        assert_eq!(index.count(RecordKind::Object), model.len());
        if step % 250 == 0 {
            let q = random_vec(&mut rng);
            let filter = SearchFilter { since_us: Some(step / 3), limit: 7, ..Default::default() };
            let got: Vec<(String, f32)> =
                index.search(&q, &filter).unwrap().into_iter().map(|h| (h.record.key, h.score)).collect();
            let mut want: Vec<(String, f32)> =
                model.iter().filter(|(_, (_, t))| *t >= step / 3).map(|(k, (v, _))| (k.clone(), v.dot(&q))).collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1));
            assert_eq!(got.len(), want.len().min(7));
            for ((gk, gs), (_, ws)) in got.iter().zip(&want) {
                assert!((gs - ws).abs() <= 1e-4 * ws.abs().max(1.0), "{gk}: {gs} vs {ws}");
                assert!((model[gk].0.dot(&q) - gs).abs() <= 1e-4 * gs.abs().max(1.0));
            }
        }
    }
}

#[test]
fn the_real_model_finds_by_meaning() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/embed");
    let e = Arc::new(Embedder::load(&dir).unwrap());
    let s = MemoryStore::in_memory().unwrap();
    s.attach_embedder(e.clone()).unwrap();
    s.record_objects(&[det("blue cup"), det("crimson ball"), det("kitchen table")], Pose::default(), 1).unwrap();
    s.add_note(NoteKind::Preference, "be quiet after ten at night", 2).unwrap();
    let hits = s.search("red ball", &all(4)).unwrap();
    assert_eq!(hits[0].record.text, "crimson ball", "{hits:?}");
    let hits = s.search("no noise in the evening", &all(4)).unwrap();
    assert_eq!(hits[0].record.kind, RecordKind::Note, "{hits:?}");
    // The stored int8 score tracks the f32 cosine.
    let f = cosine(&e.embed("red ball").unwrap(), &e.embed("crimson ball").unwrap());
    assert!((s.search("red ball", &all(1)).unwrap()[0].score - f).abs() < 0.02);
}
