//! End-to-end brain latency: text -> normalized -> tokenized -> encoder ->
//! constrained decoding -> a program validated against the sim-rover board,
//! on a few utterances of different lengths. Needs the assets in
//! `models/brain/`; without them it prints why and measures nothing.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use robot_hal::board::BoardFile;
use robot_models::brain::{Brain, PlanStatus};

const UTTERANCES: [(&str, &str); 4] = [
    ("short", "turn left"),
    ("numbers", "drive forward two and a half meters slowly"),
    ("sequence", "go to the kitchen, say dinner is ready, then come back home and blink the light red"),
    ("unsupported", "what is the capital of france"),
];

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("brain");
    if !dir.join("encoder.onnx").exists() {
        eprintln!("brain bench skipped: no assets in {}", dir.display());
        return;
    }
    let registry = match BoardFile::load(root.join("../boards/sim-rover.toml")) {
        Ok(b) => b.registry(),
        Err(e) => {
            eprintln!("brain bench skipped: {e}");
            return;
        }
    };
    let mut brain = match Brain::load(&dir, &registry) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("brain bench skipped: {e}");
            return;
        }
    };
    let mut group = c.benchmark_group("brain/plan");
    group.sample_size(20);
    for (name, text) in UTTERANCES {
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = brain.plan(text).expect("planning runs");
                if r.status == PlanStatus::Ok {
                    let p = r.program.as_ref().expect("an ok plan has a program");
                    registry.validate(p).expect("constrained decoding gives valid programs");
                }
                r
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
