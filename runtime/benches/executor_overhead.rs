//! Executor overhead per step: policy checks, skill dispatch, verification
//! bookkeeping and flight recording around a step whose device work is
//! negligible (`set_led` on the simulator). Target: <= 50 us per step.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use robot_hal::board::{BoardFile, Level};
use robot_hal::program;
use robot_runtime::executor::YesToAll;
use robot_runtime::recorder::Recorder;
use robot_runtime::session::{SessionSpec, SimSession};

fn overhead(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml");
    let board = BoardFile::load(path).unwrap();
    let spec = SessionSpec { board_path: path.into(), seed: 1, level: Some(Level::L4), yes: true, estop_at_s: None };
    let mut s = SimSession::start(board, &spec, Recorder::memory()).unwrap();
    let steps = 100;
    let text = format!("repeat({steps}) {{ set_led(color=red); set_led(color=off) }}");
    let p = program::parse(&text).unwrap();
    let mut g = c.benchmark_group("executor");
    g.throughput(Throughput::Elements(2 * steps));
    g.bench_with_input(BenchmarkId::new("steps", 2 * steps), &p, |b, p| {
        b.iter(|| {
            // Keep the in-memory log from growing without bound across iterations.
            s.executor.recorder = Recorder::memory();
            s.run(&text, p, &mut YesToAll)
        })
    });
    g.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
