//! Cost of the voice front per 32 ms of audio, single thread: one Silero VAD
//! chunk on tract (the price of idle listening: 31.25 chunks a second), the
//! resampler from 48 kHz (a typical USB microphone), and the endpointer.
//! Input is the committed parity recording, so speech and silence both occur.
//! Also the on-device speech recognizer on a 3 s utterance (the parity
//! utterance of `models/asr`, continued from its start to 3 s): log-mel
//! frontend, acoustic model, beam search with LM and bias, and the whole
//! `transcribe` (the figure the 300 ms end-of-speech budget is about).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use robot_models::voice::{read_wav_16k, EndpointConfig, Endpointer, Resampler16k, Vad, WavLimits, CHUNK_SAMPLES};

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vad");
    let (mut vad, pcm) = match (Vad::load(&dir), read_wav_16k(&dir.join("parity/speech16k.wav"), WavLimits::default()))
    {
        (Ok(v), Ok((_, p))) => (v, p),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("voice bench skipped: {e}");
            return;
        }
    };
    let chunks: Vec<&[f32]> = pcm.chunks_exact(CHUNK_SAMPLES).collect();
    let mut g = c.benchmark_group("voice");
    let mut i = 0;
    g.bench_function("vad_chunk_32ms", |b| {
        b.iter(|| {
            i = (i + 1) % chunks.len();
            vad.process(chunks[i]).unwrap_or(0.0)
        })
    });
    // 32 ms at 48 kHz = 1536 samples.
    let block: Vec<f32> = (0..1536).map(|k| (k as f32 * 0.05).sin() * 0.3).collect();
    let mut r = Resampler16k::new(48_000).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::with_capacity(4096);
    g.bench_function("resample_48k_32ms", |b| {
        b.iter(|| {
            out.clear();
            r.push(&block, &mut out).map(|_| out.len()).unwrap_or(0)
        })
    });
    let mut ep = Endpointer::new(EndpointConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut k = 0u32;
    g.bench_function("endpointer_step", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            ep.push(if (k / 40).is_multiple_of(2) { 0.9 } else { 0.05 })
        })
    });
    g.finish();
}

fn bench_asr(c: &mut Criterion) {
    use robot_models::kernels::{LogMel, LogMelConfig};
    use robot_models::voice::asr::Recognizer;
    use robot_models::voice::{Bias, SpeechToText};

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("asr");
    let (mut asr, pcm) =
        match (Recognizer::load(&dir), read_wav_16k(&dir.join("parity/utterance.wav"), WavLimits::default())) {
            (Ok(r), Ok((_, p))) if !p.is_empty() => (r, p),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("asr bench skipped: {e}");
                return;
            }
            _ => return,
        };
    let three_s: Vec<f32> = pcm.iter().copied().cycle().take(48_000).collect();
    let bias = Bias {
        vocabulary: ["gripper", "close", "open", "drive", "turn", "forward"].map(String::from).to_vec(),
        names: vec!["piano room".into(), "kitchen".into()],
    };
    let mut g = c.benchmark_group("asr");
    g.sample_size(20);
    let mut mel = LogMel::new(LogMelConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut feats = Vec::new();
    g.bench_function("logmel_3s", |b| {
        b.iter(|| {
            mel.reset();
            feats.clear();
            mel.compute(&three_s, &mut feats)
        })
    });
    let lp = asr.log_probs(&three_s).unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("logmel_model_3s", |b| b.iter(|| asr.log_probs(&three_s).map(|l| l.frames()).unwrap_or(0)));
    g.bench_function("beam_decode_3s", |b| b.iter(|| asr.decode(&lp, &bias).text.len()));
    g.bench_function("recognize_3s", |b| b.iter(|| asr.transcribe(&three_s, &bias).map(|t| t.text.len()).unwrap_or(0)));
    g.finish();
}

criterion_group!(benches, bench, bench_asr);
criterion_main!(benches);
