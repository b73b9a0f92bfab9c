//! End-to-end checks of the voice front on the committed model: tract's
//! probabilities against onnxruntime's on a recorded utterance, and WAV ->
//! VAD -> endpoints on speech synthesized with `espeak-ng` at test time
//! (skipped, with the reason printed, where the binary is missing).

use std::path::{Path, PathBuf};
use std::process::Command;

use hound::{SampleFormat, WavSpec, WavWriter};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn vad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vad")
}

/// A scratch folder removed when the test ends, so a run leaves nothing in the system temp dir.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn tract_matches_onnxruntime_on_the_parity_recording() {
    // `onnxruntime_probs.txt` is `vad_check.py` on the same file (MODEL_CARD.md).
    let (_, pcm) = read_wav_16k(&vad_dir().join("parity/speech16k.wav"), WavLimits::default()).unwrap();
    let want: Vec<f32> = std::fs::read_to_string(vad_dir().join("parity/onnxruntime_probs.txt"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(want.len(), pcm.len() / CHUNK_SAMPLES);
    let mut vad = Vad::load(&vad_dir()).unwrap();
    let got: Vec<f32> = pcm.chunks_exact(CHUNK_SAMPLES).map(|c| vad.process(c).unwrap()).collect();
    let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    eprintln!("max |tract - onnxruntime| over {} chunks: {worst:e}", got.len());
    assert!(worst < 1e-3, "max |tract - onnxruntime| = {worst}");
    assert!(want.iter().filter(|&&p| p > 0.9).count() > 50, "the recording has speech");

    // reset() makes the next pass identical to a fresh model.
    vad.reset();
    let again: Vec<f32> = pcm.chunks_exact(CHUNK_SAMPLES).map(|c| vad.process(c).unwrap()).collect();
    assert_eq!(got, again);
    assert!(matches!(vad.process(&pcm[..100]), Err(VoiceError::ChunkSize { expected: 512, actual: 100 })));
}

#[test]
fn a_tampered_model_is_refused() {
    let scratch = scratch();
    let dir = scratch.path().join("vad-tampered");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(vad_dir().join("manifest.json"), dir.join("manifest.json")).unwrap();
    let mut onnx = std::fs::read(vad_dir().join(vad::VAD_ONNX)).unwrap();
    let mid = onnx.len() / 2;
    onnx[mid] ^= 1;
    std::fs::write(dir.join(vad::VAD_ONNX), &onnx).unwrap();
    assert!(matches!(Vad::load(&dir), Err(VoiceError::Integrity { .. })));
    assert!(matches!(Vad::load(&scratch.path().join("no-such-dir")), Err(VoiceError::Io { .. })));
}

/// Writes `pcm` as a 16-bit WAV at `rate` Hz, `channels` identical copies.
fn write_wav(path: &Path, pcm: &[f32], rate: u32, channels: u16) {
    let spec = WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: SampleFormat::Int };
    let mut w = WavWriter::create(path, spec).unwrap();
    for &s in pcm {
        for _ in 0..channels {
            w.write_sample((s.clamp(-1.0, 1.0) * 32_767.0) as i16).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn noise(rng: &mut ChaCha8Rng, n: usize, amp: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-amp..amp)).collect()
}

/// Speech from `espeak-ng` at its native rate (22.05 kHz) as `f32`, with
/// that rate, or `None` without the binary.
fn espeak(text: &str) -> Option<(Vec<f32>, u32)> {
    let scratch = scratch();
    let out = scratch.path().join("espeak.wav");
    match Command::new("espeak-ng").args(["-v", "en-us", "-w"]).arg(&out).arg(text).status() {
        Ok(s) if s.success() => {
            let mut r = hound::WavReader::open(&out).unwrap();
            let rate = r.spec().sample_rate;
            let pcm = r.samples::<i16>().map(|s| f32::from(s.unwrap()) / 32_768.0).collect();
            Some((pcm, rate))
        }
        other => {
            eprintln!("skipping: espeak-ng is not usable here ({other:?})");
            None
        }
    }
}

#[test]
fn one_segment_where_the_synthesized_utterance_is() {
    let Some((speech, rate)) = espeak("drive forward two meters, then turn left") else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    // 1.5 s of low noise, the utterance over it, 2 s of noise; written as
    // stereo at espeak's 22.05 kHz, so the reader downmixes and resamples.
    let lead = rate as usize * 3 / 2;
    let mut pcm = noise(&mut rng, lead, 0.01);
    pcm.extend(speech.iter().map(|s| s + rng.gen_range(-0.01..0.01)));
    pcm.extend(noise(&mut rng, rate as usize * 2, 0.01));
    let scratch = scratch();
    let path = scratch.path().join("utterance-22k-stereo.wav");
    write_wav(&path, &pcm, rate, 2);

    let segs = load_utterances(&path, &vad_dir(), &VoiceConfig::default()).unwrap();
    let spans: Vec<(f64, f64)> = segs.iter().map(|s| (s.start_seconds(), s.end_seconds())).collect();
    assert_eq!(segs.len(), 1, "{spans:?}");
    let (s, e) = spans[0];
    let (speech_s, speech_e) = (lead as f64 / f64::from(rate), (lead + speech.len()) as f64 / f64::from(rate));
    assert!((s - speech_s).abs() < 0.4, "start {s:.2} s, speech from {speech_s:.2} s");
    assert!((e - speech_e).abs() < 0.6, "end {e:.2} s, speech to {speech_e:.2} s");
    assert_eq!(segs[0].samples.len() as u64, segs[0].end - segs[0].start);
}

#[test]
fn silence_and_noise_have_no_segment() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let cases: [(&str, Vec<f32>); 4] = [
        ("silence", vec![0.0; 16_000 * 5]),
        ("white-noise", noise(&mut rng, 16_000 * 5, 0.3)),
        (
            "hum",
            (0..16_000 * 5).map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 50.0 / 16_000.0).sin() * 0.3).collect(),
        ),
        ("clipped-noise", noise(&mut rng, 16_000 * 5, 3.0)),
    ];
    let mut listener = Listener::new(Vad::load(&vad_dir()).unwrap(), EndpointConfig::default()).unwrap();
    let scratch = scratch();
    for (name, pcm) in cases {
        let path = scratch.path().join(format!("{name}.wav"));
        write_wav(&path, &pcm, 16_000, 1);
        let segs = listener.run_file(&path, WavLimits::default()).unwrap();
        assert!(segs.is_empty(), "{name}: {:?}", segs.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>());
    }
}

#[test]
fn live_blocks_of_any_size_give_the_same_segments_as_the_file() {
    let Some((speech, rate)) = espeak("stop") else { return };
    let mut pcm = vec![0.0; rate as usize];
    pcm.extend(&speech);
    pcm.extend(vec![0.0; rate as usize]);
    let scratch = scratch();
    let path = scratch.path().join("stop.wav");
    write_wav(&path, &pcm, rate, 1);
    let mut listener = Listener::new(Vad::load(&vad_dir()).unwrap(), EndpointConfig::default()).unwrap();
    let from_file = listener.run_file(&path, WavLimits::default()).unwrap();
    assert_eq!(from_file.len(), 1);

    // The same audio as a microphone would deliver it: through the ring, in odd blocks.
    let (_, quantized) = read_wav_16k(&path, WavLimits::default()).unwrap();
    let (mut tx, mut rx) = mic_ring(4096, 1).unwrap();
    let (mut events, mut segs, mut buf) = (Vec::new(), Vec::new(), Vec::new());
    for block in quantized.chunks(333) {
        tx.push(block);
        rx.drain_into(&mut buf);
        listener.push(&buf, &mut events, &mut segs).unwrap();
        buf.clear();
    }
    listener.finish(&mut events, &mut segs).unwrap();
    assert_eq!(segs, from_file);
    assert!(matches!(events.first(), Some(EndpointEvent::Started { .. })), "{events:?}");
}
