//! Criterion benchmark of [`robot_models::normalize::normalize`] on typical
//! commands: the normalizer runs on every utterance before the brain, so its
//! cost is part of the per-command latency budget.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use robot_models::normalize::normalize;

/// Commands of the usual length and shape (own phrasings, not the eval set).
const COMMANDS: &[&str] = &[
    "Roll ahead three and a half feet, then spin to the left.",
    "wait half a minute and then reverse 40 cm at 0.2 m/s",
    "Please take a picture of the blue mug",
    "turn right one hundred and twenty degrees twice",
    "go 12 km/h for a dozen yards, then rest a moment",
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalize");
    group.bench_function("typical_command", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % COMMANDS.len();
            black_box(normalize(black_box(COMMANDS[k])))
        })
    });
    let long = "drive forward two meters and turn left ninety degrees, ".repeat(180);
    group.bench_function("10kB_text", |b| b.iter(|| black_box(normalize(black_box(&long)))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
