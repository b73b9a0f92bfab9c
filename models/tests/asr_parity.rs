//! The committed speech model in `models/asr` on tract against what
//! onnxruntime made of the committed parity recording
//! (`parity/expected.json`, written by models/training/voice/export.py):
//! the same number of output frames, the same best class in at least 95% of
//! them, the first rows' class probabilities close; and the recognizer's
//! behaviour on audio with nothing in it. Nothing here depends on how
//! accurate the model is, so a retrained model with the same interface
//! passes as long as its parity files are regenerated with it.

use std::path::{Path, PathBuf};

use robot_models::brain::assets::sha256_hex;
use robot_models::voice::asr::{output_frames, Recognizer};
use robot_models::voice::{read_wav_16k, Bias, SpeechToText, VoiceError, WavLimits};

#[derive(serde::Deserialize)]
struct Expected {
    frames: usize,
    out_frames: usize,
    argmax: Vec<usize>,
    logp_rows_0_4: Vec<Vec<f32>>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("asr")
}

fn load() -> Option<Recognizer> {
    if !dir().join("model.onnx").exists() {
        eprintln!("skipped: models/asr/model.onnx is absent");
        return None;
    }
    Some(Recognizer::load(&dir()).expect("the committed model loads"))
}

#[test]
fn tract_matches_onnxruntime_on_the_parity_utterance() {
    let Some(mut r) = load() else { return };
    let e: Expected =
        serde_json::from_str(&std::fs::read_to_string(dir().join("parity/expected.json")).unwrap()).unwrap();
    let (_, pcm) = read_wav_16k(&dir().join("parity/utterance.wav"), WavLimits::default()).unwrap();
    assert_eq!(output_frames(e.frames), e.out_frames);
    let lp = r.log_probs(&pcm).unwrap();
    assert_eq!(lp.frames(), e.out_frames);
    let got = lp.argmax();
    let agree = got.iter().zip(&e.argmax).filter(|(a, b)| a == b).count();
    eprintln!("argmax agreement {agree}/{}; greedy {:?}", e.argmax.len(), r.greedy(&lp));
    assert!(agree * 100 >= 95 * e.argmax.len(), "argmax agrees on {agree} of {} frames", e.argmax.len());
    let mut worst = 0.0f32;
    for (t, want) in e.logp_rows_0_4.iter().enumerate() {
        for (c, (&g, &w)) in lp.row(t).iter().zip(want).enumerate() {
            // int8 weights: the two runtimes sum in different orders, and a
            // frame between two letters (both likely) moves every class a
            // little. What the decoder needs is the same distribution:
            // probabilities within 0.02, and the likely classes' log-
            // probabilities within 0.1.
            let (pg, pw) = (g.exp(), w.exp());
            assert!((pg - pw).abs() <= 0.02, "row {t} class {c}: p {pg} (tract) vs {pw} (onnxruntime)");
            if w > -2.0 {
                assert!((g - w).abs() <= 0.1, "row {t} class {c}: ln p {g} (tract) vs {w} (onnxruntime)");
            }
            worst = worst.max((pg - pw).abs());
        }
    }
    eprintln!("largest probability difference in rows 0-4: {worst:e}");
    let t = r.transcribe(&pcm, &Bias::default()).unwrap();
    assert_eq!(t.engine, "on-device");
    assert!(t.compute_seconds > 0.0 && (t.audio_seconds - pcm.len() as f64 / 16000.0).abs() < 1e-9);
    assert!(t.text.bytes().all(|b| b == b' ' || b == b'\'' || b.is_ascii_lowercase()), "{:?}", t.text);
    assert!(t.confidence.is_some_and(|c| (0.0..=1.0).contains(&c)));
}

#[test]
fn nothing_in_gives_nothing_out() {
    let Some(mut r) = load() else { return };
    let bias = Bias::default();
    for samples in [vec![], vec![0.1; 100], vec![0.0; 16000], vec![f32::NAN; 4000]] {
        let t = r.transcribe(&samples, &bias).unwrap();
        assert_eq!(t.text, "", "{} samples", samples.len());
        assert_eq!(t.confidence, None);
    }
    assert_eq!(r.log_probs(&[0.2; 1000]).unwrap().frames(), 0, "shorter than one output frame");
    // Full-scale clipping garbage is recognised as something or nothing, without error.
    let clipped: Vec<f32> = (0..32000).map(|i| if (i / 7) % 2 == 0 { 1.0 } else { -1.0 }).collect();
    r.transcribe(&clipped, &bias).unwrap();
}

#[test]
fn a_tampered_folder_is_refused() {
    if !dir().join("model.onnx").exists() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("robot-asr-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for f in ["manifest.json", "model.onnx", "lm.json"] {
        if dir().join(f).exists() {
            std::fs::copy(dir().join(f), tmp.join(f)).unwrap();
        }
    }
    let bad_lm = b"{\"format\": \"robot-asr-lm/1\"}";
    std::fs::write(tmp.join("lm.json"), bad_lm).unwrap();
    let e = Recognizer::load(&tmp).unwrap_err();
    assert!(matches!(e, VoiceError::Integrity { .. }), "{e}");
    // Listed with its true checksum, a malformed LM is still refused, by name.
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.join("manifest.json")).unwrap()).unwrap();
    m["files"]["lm.json"] = serde_json::json!({"sha256": sha256_hex(bad_lm), "bytes": bad_lm.len()});
    std::fs::write(tmp.join("manifest.json"), m.to_string()).unwrap();
    let e = Recognizer::load(&tmp).unwrap_err();
    assert!(matches!(e, VoiceError::Model { ref what, .. } if what.ends_with("lm.json")), "{e}");
    std::fs::write(tmp.join("manifest.json"), b"{not json").unwrap();
    assert!(matches!(Recognizer::load(&tmp).unwrap_err(), VoiceError::Manifest { .. }));
    std::fs::remove_dir_all(&tmp).ok();
    assert!(matches!(Recognizer::load(&tmp).unwrap_err(), VoiceError::Io { .. }));
}
