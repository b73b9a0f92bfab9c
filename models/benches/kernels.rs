//! Criterion benchmarks of [`robot_models::kernels`]: every path this CPU can
//! run against the portable reference, at the sizes the robot uses (memory
//! search over 100,000 x 384 int8 and f16 embeddings, a 32,000-token
//! vocabulary with half of it allowed, a 1536 x 384 int8 layer, the voice
//! frontend's 512-point power spectrum and 80-filter log-mel bank, and one
//! second of 16 kHz audio through the whole filterbank). Compare the
//! `reference` and SIMD lines of each group to get the speed-up ratio.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use robot_models::kernels::{self, KernelPath, LogMel, LogMelConfig, MelFilterbank};

const ROWS: usize = 100_000;
const DIM: usize = 384;
const K: usize = 10;
const VOCAB: usize = 32_000;

fn bench_top_k(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let matrix: Vec<i8> = (0..ROWS * DIM).map(|_| rng.gen_range(-127..=127)).collect();
    let scales: Vec<f32> = (0..ROWS).map(|_| rng.gen_range(0.001..0.01)).collect();
    let query: Vec<i8> = (0..DIM).map(|_| rng.gen_range(-127..=127)).collect();
    // The full matrix (38 MB) streams from DRAM; the 20,000-row slice (7.7 MB)
    // stays in cache and shows the compute-bound ratio.
    for rows in [ROWS, ROWS / 5] {
        let mut group = c.benchmark_group(format!("top_k_i8_{rows}x{DIM}"));
        let (matrix, scales) = (&matrix[..rows * DIM], &scales[..rows]);
        for path in KernelPath::available() {
            group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
                b.iter(|| kernels::top_k_i8_on(path, black_box(matrix), scales, DIM, black_box(&query), 0.01, K))
            });
        }
        // One pass over the same bytes with no arithmetic: the memory
        // bandwidth ceiling a search of this size can approach.
        group.bench_function("read_only", |b| b.iter(|| read_pass(black_box(matrix))));
        group.finish();
    }
}

/// Sums the bytes as 64-bit words: the compiler vectorises it, and it does
/// far less work per byte than any dot product.
fn read_pass(bytes: &[i8]) -> u64 {
    let mut acc = [0u64; 4];
    for chunk in bytes.chunks_exact(32) {
        for (k, a) in acc.iter_mut().enumerate() {
            let word: [u8; 8] = std::array::from_fn(|i| chunk[8 * k + i] as u8);
            *a = a.wrapping_add(u64::from_le_bytes(word));
        }
    }
    acc.iter().fold(0, |s, &a| s.wrapping_add(a))
}

fn bench_decoding(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let logits: Vec<f32> = (0..VOCAB).map(|_| rng.gen_range(-20.0..20.0)).collect();
    let allowed: Vec<u64> = (0..VOCAB.div_ceil(64)).map(|_| rng.gen::<u64>()).collect();
    let mut out = vec![0.0f32; VOCAB];
    let mut group = c.benchmark_group("masked_argmax_32000");
    for path in KernelPath::available() {
        group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
            b.iter(|| kernels::masked_argmax_on(path, black_box(&logits), black_box(&allowed)))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("masked_log_softmax_32000");
    for path in KernelPath::available() {
        group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
            b.iter(|| kernels::masked_log_softmax_on(path, black_box(&logits), black_box(&allowed), &mut out))
        });
    }
    group.finish();
}

/// A MiniLM-sized feed-forward layer (384 -> 1536): cache-resident, compute-bound.
fn bench_matvec(c: &mut Criterion) {
    let (rows, cols) = (1536, 384);
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let w: Vec<i8> = (0..rows * cols).map(|_| rng.gen()).collect();
    let x: Vec<i8> = (0..cols).map(|_| rng.gen()).collect();
    let mut group = c.benchmark_group("matvec_i8_1536x384");
    for path in KernelPath::available() {
        group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
            b.iter(|| kernels::matvec_i8_on(path, black_box(&w), rows, cols, black_box(&x)))
        });
    }
    group.finish();
}

/// The f16 search at the same size as the int8 one (77 MB: DRAM-bound) and
/// at a fifth of it (15 MB).
fn bench_top_k_f16(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let matrix: Vec<u16> = (0..ROWS * DIM).map(|_| kernels::f32_to_f16_bits(rng.gen_range(-1.0..1.0))).collect();
    let query: Vec<f32> = (0..DIM).map(|_| rng.gen_range(-1.0..1.0)).collect();
    for rows in [ROWS, ROWS / 5] {
        let mut group = c.benchmark_group(format!("top_k_f16_{rows}x{DIM}"));
        let matrix = &matrix[..rows * DIM];
        for path in KernelPath::available() {
            group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
                b.iter(|| kernels::top_k_f16_on(path, black_box(matrix), rows, DIM, black_box(&query), K))
            });
        }
        group.finish();
    }
}

/// The two log-mel kernels on one frame, and one second of audio end to end
/// (framing and the FFT are shared code, so that ratio is diluted).
fn bench_logmel(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let config = LogMelConfig::default();
    let bank = MelFilterbank::new(&config).expect("default config is valid");
    let bins = bank.num_power_bins();
    let spectrum: Vec<f32> = (0..2 * bins).map(|_| rng.gen_range(-10.0..10.0)).collect();
    let power: Vec<f32> = (0..bins).map(|_| rng.gen_range(0.0..100.0)).collect();
    let samples: Vec<f32> = (0..16_000).map(|_| rng.gen_range(-0.5..0.5)).collect();
    let mut group = c.benchmark_group("power_spectrum_257");
    let mut out = vec![0.0f32; bins];
    for path in KernelPath::available() {
        group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
            b.iter(|| kernels::power_spectrum_on(path, black_box(&spectrum), &mut out))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("mel_log_80");
    let mut out = vec![0.0f32; config.num_mel_bins];
    for path in KernelPath::available() {
        group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
            b.iter(|| bank.apply_log_on(path, black_box(&power), &mut out))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("log_mel_1s_16khz");
    for path in KernelPath::available() {
        let mut mel = LogMel::new_on(path, config.clone()).expect("path is available");
        let mut out = Vec::with_capacity(100 * config.num_mel_bins);
        group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
            b.iter(|| {
                mel.reset();
                out.clear();
                mel.compute(black_box(&samples), &mut out)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_top_k, bench_top_k_f16, bench_decoding, bench_matvec, bench_logmel);
criterion_main!(benches);
