//! Checks of the log-mel filterbank in [`robot_models::kernels`]: agreement
//! with torchaudio's Kaldi fbank on a committed fixture (written by
//! models/training/voice/fbank_fixture.py), the shared property tests of its
//! two kernels (power spectrum, filterbank + log) on every path this CPU
//! supports, streaming in arbitrary chunks, and config validation.

use proptest::prelude::*;
use robot_models::kernels::{
    power_spectrum_on, KernelError, KernelPath, LogMel, LogMelConfig, LogMelError, MelFilterbank,
};

fn simd_paths() -> Vec<KernelPath> {
    KernelPath::available().into_iter().filter(|&p| p != KernelPath::Reference).collect()
}

#[derive(serde::Deserialize)]
struct Fixture {
    sample_rate: u32,
    num_mel_bins: usize,
    samples: Vec<f32>,
    log_mel: Vec<f32>,
}

/// Log energies agree to this (absolute, natural log): f32 against torch's
/// float64, plus the fixture's 5 decimals.
const FIXTURE_TOLERANCE: f32 = 1e-3;

#[test]
fn matches_torchaudio_kaldi_fbank_on_every_path() {
    let fixture: Fixture =
        serde_json::from_str(include_str!("fixtures/logmel_kaldi_fbank.json")).expect("fixture parses");
    let config = LogMelConfig::default();
    assert_eq!((fixture.sample_rate, fixture.num_mel_bins), (config.sample_rate, config.num_mel_bins));
    for path in KernelPath::available() {
        let mut mel = LogMel::new_on(path, config.clone()).unwrap();
        let mut out = Vec::new();
        let frames = mel.compute(&fixture.samples, &mut out);
        assert_eq!(frames * 80, fixture.log_mel.len(), "path {path:?}");
        assert_eq!(out.len(), fixture.log_mel.len());
        let worst = out.iter().zip(&fixture.log_mel).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        eprintln!("path {path:?}: worst |rust - torch| = {worst:e}");
        assert!(worst <= FIXTURE_TOLERANCE, "path {path:?}: worst difference {worst}");
    }
}

/// Log values of the SIMD paths are within a few ulp of `f32::ln`.
fn close(a: f32, b: f32) -> bool {
    a == b || (a - b).abs() <= 4.0 * f32::EPSILON * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn power_spectrum_every_path_matches_reference(
        spectrum in proptest::collection::vec(-1e3f32..1e3, 0..80).prop_map(|mut v| { v.truncate(v.len() / 2 * 2); v })
    ) {
        let mut want = vec![0.0; spectrum.len() / 2];
        power_spectrum_on(KernelPath::Reference, &spectrum, &mut want).unwrap();
        for (c, &w) in spectrum.chunks_exact(2).zip(&want) {
            prop_assert_eq!(w, c[0] * c[0] + c[1] * c[1]);
        }
        for path in simd_paths() {
            let mut got = vec![-1.0; want.len()];
            power_spectrum_on(path, &spectrum, &mut got).unwrap();
            prop_assert_eq!(&got, &want, "path {:?}", path);
        }
    }

    #[test]
    fn filterbank_every_path_matches_reference(
        bins in 4usize..100,
        power in proptest::collection::vec(prop_oneof![4 => 0.0f32..1e4, 1 => Just(0.0f32), 1 => 0.0f32..1e-6], 257),
    ) {
        let config = LogMelConfig { num_mel_bins: bins, ..LogMelConfig::default() };
        let bank = MelFilterbank::new(&config).unwrap();
        let mut want = vec![0.0; bins];
        bank.apply_log_on(KernelPath::Reference, &power, &mut want).unwrap();
        for path in simd_paths() {
            let mut got = vec![0.0; bins];
            bank.apply_log_on(path, &power, &mut got).unwrap();
            for (m, (&g, &w)) in got.iter().zip(&want).enumerate() {
                prop_assert!(close(g, w), "path {:?} filter {}: {} vs {}", path, m, g, w);
            }
        }
    }

    #[test]
    fn streaming_equals_batch_and_paths_agree(
        samples in proptest::collection::vec(-1.0f32..1.0, 0..2000),
        chunks in proptest::collection::vec(1usize..700, 1..8),
    ) {
        let mut want = Vec::new();
        LogMel::new_on(KernelPath::Reference, LogMelConfig::default()).unwrap().compute(&samples, &mut want);
        prop_assert_eq!(want.len(), if samples.len() < 400 { 0 } else { ((samples.len() - 400) / 160 + 1) * 80 });
        for path in KernelPath::available() {
            let mut mel = LogMel::new_on(path, LogMelConfig::default()).unwrap();
            let mut batch = Vec::new();
            mel.compute(&samples, &mut batch);
            // The same path in chunks: bit-identical to its batch result.
            mel.reset();
            let mut streamed = Vec::new();
            let mut rest = &samples[..];
            for &n in chunks.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at(n.min(rest.len()));
                mel.compute(now, &mut streamed);
                rest = later;
            }
            prop_assert_eq!(&streamed, &batch, "path {:?}", path);
            for (i, (&g, &w)) in batch.iter().zip(&want).enumerate() {
                prop_assert!(close(g, w), "path {:?} value {}: {} vs {}", path, i, g, w);
            }
        }
    }
}

#[test]
fn shift_longer_than_frame_streams_like_batch() {
    let config = LogMelConfig { frame_length: 100, frame_shift: 250, num_mel_bins: 10, ..LogMelConfig::default() };
    let samples: Vec<f32> = (0..2000).map(|i| ((i * 7919) % 200) as f32 / 100.0 - 1.0).collect();
    let mut mel = LogMel::new(config).unwrap();
    let mut batch = Vec::new();
    assert_eq!(mel.compute(&samples, &mut batch), 8);
    mel.reset();
    let mut streamed = Vec::new();
    for chunk in samples.chunks(37) {
        mel.compute(chunk, &mut streamed);
    }
    assert_eq!(streamed, batch);
}

#[test]
fn silence_hits_the_log_floor_and_nan_stays_nan() {
    let mut mel = LogMel::new(LogMelConfig::default()).unwrap();
    let mut out = Vec::new();
    assert_eq!(mel.compute(&[0.0; 399], &mut out), 0);
    assert_eq!(mel.compute(&[0.0; 1], &mut out), 1);
    assert!(out.iter().all(|&x| x == f32::EPSILON.ln()), "{out:?}");
    out.clear();
    mel.reset();
    let mut samples = vec![0.1f32; 400];
    samples[10] = f32::NAN;
    mel.compute(&samples, &mut out);
    assert!(out.iter().all(|x| x.is_nan()));
}

#[test]
fn bad_configs_are_refused() {
    let d = LogMelConfig::default;
    let bad = [
        (LogMelConfig { sample_rate: 0, ..d() }, "sample"),
        (LogMelConfig { frame_length: 1, ..d() }, "frame length"),
        (LogMelConfig { frame_length: 1 << 20, ..d() }, "frame length"),
        (LogMelConfig { frame_shift: 0, ..d() }, "shift"),
        (LogMelConfig { num_mel_bins: 3, ..d() }, "mel bins"),
        (LogMelConfig { low_freq: 9000.0, ..d() }, "band"),
        (LogMelConfig { low_freq: f32::NAN, ..d() }, "band"),
        (LogMelConfig { high_freq: -9000.0, ..d() }, "band"),
        (LogMelConfig { high_freq: 100.0, low_freq: 200.0, ..d() }, "band"),
        (LogMelConfig { preemphasis: 1.5, ..d() }, "pre-emphasis"),
    ];
    for (config, what) in bad {
        let err = LogMel::new(config.clone()).expect_err(what);
        assert!(err.to_string().contains(what), "{config:?}: {err}");
    }
    let foreign = if cfg!(target_arch = "x86_64") { KernelPath::NeonDotprod } else { KernelPath::Avx2Fma };
    assert_eq!(LogMel::new_on(foreign, d()).unwrap_err(), LogMelError::Kernel(KernelError::Unavailable(foreign)));
    let bank = MelFilterbank::new(&d()).unwrap();
    assert_eq!(bank.num_power_bins(), 257);
    assert!(matches!(bank.apply_log(&[0.0; 256], &mut [0.0; 80]), Err(KernelError::Length { .. })));
    assert!(matches!(bank.apply_log(&[0.0; 257], &mut [0.0; 79]), Err(KernelError::Length { .. })));
}
