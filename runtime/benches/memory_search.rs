//! Memory search latency over 100,000 records: embedding the query with
//! the real model (`models/embed/`), refreshing the index against the
//! database and the int8 top-k, on one thread.
//!
//! A distribution matters, so this is a plain benchmark binary that prints
//! percentiles: `cargo bench -p robot-runtime --bench memory_search`.
//! `MEMORY_SEARCH_RECORDS` (default 100000) and `MEMORY_SEARCH_TRIALS`
//! (default 300) change the sizes. The store is in memory so that setup is
//! quick; a search reads the file only for the refresh's few indexed
//! queries. Record texts repeat (colour x object, a few commands and
//! notes), so setup embeds each distinct text once through a cache; queries
//! are never cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use robot_hal::{Detection, Pose};
use robot_models::embed::{EmbedError, Embedder, QuantizedVec, EMBED_DIM};
use robot_runtime::memory::{
    EpisodeRecord, MemoryStore, NoteKind, RecordKind, SearchFilter, StoreConfig, TextEmbedder,
};

const COLOURS: [&str; 12] =
    ["red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black", "grey", "brown", "cyan"];
const THINGS: [&str; 20] = [
    "ball",
    "cup",
    "bottle",
    "shoe",
    "book",
    "box",
    "chair",
    "toy car",
    "sock",
    "remote control",
    "phone",
    "plate",
    "backpack",
    "umbrella",
    "teddy bear",
    "key ring",
    "mug",
    "pillow",
    "lamp",
    "basket",
];
const COMMANDS: [&str; 6] = [
    "go to the kitchen",
    "find the red ball",
    "drive forward two metres",
    "return to the charging dock",
    "look around the living room",
    "follow me to the garage",
];
const NOTES: [&str; 5] = [
    "the operator prefers slow driving indoors",
    "do not enter the bedroom after 10 pm",
    "the charging dock is behind the sofa",
    "the cat sleeps in the hallway",
    "be quiet while the baby sleeps",
];
const QUERIES: [&str; 8] = [
    "red ball",
    "where did I leave my keys",
    "something to drink from",
    "a soft toy",
    "trips to the kitchen",
    "rules about the bedroom",
    "the charger",
    "footwear",
];

/// The real embedder with a cache that is switched off after setup.
struct Cached {
    inner: Embedder,
    cache: Mutex<HashMap<String, QuantizedVec>>,
    on: AtomicBool,
}

impl TextEmbedder for Cached {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dim(&self) -> usize {
        EMBED_DIM
    }
    fn embed_i8(&self, text: &str) -> Result<QuantizedVec, EmbedError> {
        if !self.on.load(Ordering::Relaxed) {
            return self.inner.embed_i8(text);
        }
        if let Some(v) = self.cache.lock().expect("cache").get(text) {
            return Ok(v.clone());
        }
        let v = self.inner.embed_i8(text)?;
        self.cache.lock().expect("cache").insert(text.to_string(), v.clone());
        Ok(v)
    }
}

fn percentiles(mut d: Vec<Duration>) -> String {
    d.sort_unstable();
    let at = |p: f64| d[((d.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    format!("p50 {:7.2} ms   p90 {:7.2} ms   p99 {:7.2} ms", at(0.5), at(0.9), at(0.99))
}

fn main() {
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (records, trials) = (env("MEMORY_SEARCH_RECORDS", 100_000), env("MEMORY_SEARCH_TRIALS", 300));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/embed");
    let embedder = Arc::new(Cached {
        inner: Embedder::load(dir.as_ref()).expect("models/embed"),
        cache: Mutex::new(HashMap::new()),
        on: AtomicBool::new(true),
    });
    let store = MemoryStore::in_memory_with(StoreConfig::default()).expect("store");

    let t = Instant::now();
    let (episodes, notes) = (records / 50, records / 50);
    let objects = records - episodes - notes;
    let mut n = 0;
    while n < objects {
        let batch: Vec<Detection> = (n..(n + 1000).min(objects))
            .map(|i| Detection {
                label: format!("{} {}", COLOURS[i % COLOURS.len()], THINGS[(i / COLOURS.len()) % THINGS.len()]),
                bearing_deg: 0.0,
                distance_m: 1.0,
            })
            .collect();
        n += batch.len();
        store.record_objects(&batch, Pose::default(), (n as u64) * 1_000_000).expect("objects");
    }
    for i in 0..episodes {
        let e = EpisodeRecord {
            command: COMMANDS[i % COMMANDS.len()].into(),
            program: String::new(),
            decision: "accepted".into(),
            status: "done".into(),
            reason: String::new(),
            steps: serde_json::Value::Null,
            started_at_us: i as u64 * 1_000_000,
            ended_at_us: i as u64 * 1_000_000 + 1,
        };
        store.record_episode(&e).expect("episode");
    }
    for i in 0..notes {
        store.add_note(NoteKind::Note, NOTES[i % NOTES.len()], i as u64 * 1_000_000).expect("note");
    }
    println!("stored {records} records in {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    store.attach_embedder(embedder.clone()).expect("attach");
    let embedded = store.refresh_search_index().expect("backfill");
    embedder.on.store(false, Ordering::Relaxed);
    let indexed = store.search_index_len().expect("len");
    println!("indexed {indexed} records ({embedded} embedded) in {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(indexed, records);

    let kind = SearchFilter { kind: Some(RecordKind::Note), ..Default::default() };
    let window = SearchFilter { since_us: Some(10_000_000), until_us: Some(40_000_000_000), ..Default::default() };
    let mut embed_only = Vec::with_capacity(trials);
    let mut topk_only = Vec::with_capacity(trials);
    let mut full = Vec::with_capacity(trials);
    let mut full_kind = Vec::with_capacity(trials);
    let mut full_time = Vec::with_capacity(trials);
    for i in 0..trials {
        let q = QUERIES[i % QUERIES.len()];
        let t = Instant::now();
        let v = embedder.embed_i8(q).expect("embed");
        embed_only.push(t.elapsed());
        let t = Instant::now();
        let hits = store.search_embedded(&v, &SearchFilter::default()).expect("search");
        topk_only.push(t.elapsed());
        assert_eq!(hits.len(), 10);
        let t = Instant::now();
        std::hint::black_box(store.search(q, &SearchFilter::default()).expect("search"));
        full.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(store.search(q, &kind).expect("search"));
        full_kind.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(store.search(q, &window).expect("search"));
        full_time.push(t.elapsed());
    }
    for q in ["red ball", "the charger"] {
        let hits = store.search(q, &SearchFilter { limit: 3, ..Default::default() }).expect("search");
        let shown: Vec<String> = hits.iter().map(|h| format!("{} ({:.2})", h.record.text, h.score)).collect();
        println!("{q:?} -> {}", shown.join(", "));
    }
    println!("kernel path: {}", robot_models::kernels::KernelPath::active().name());
    println!("{trials} trials over {records} records, one thread:");
    println!("  query embedding          {}", percentiles(embed_only));
    println!("  refresh + int8 top-10    {}", percentiles(topk_only));
    println!("  search (all kinds)       {}", percentiles(full));
    println!("  search --kind note       {}", percentiles(full_kind));
    println!("  search --since/--until   {}", percentiles(full_time));
}
