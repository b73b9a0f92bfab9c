//! `robot plan --audio` and `robot eval voice` run as a user runs them,
//! against the committed brain, VAD and speech model: a recording gives the
//! spec's plan JSON plus its transcript (or the human form with a `heard:`
//! line), silence a `no_speech` result with exit status 3, and a non-WAV
//! or truncated file an error naming the file. What the dev model hears is
//! not checked (it is replaced by better ones); that a valid plan comes
//! out is. Skipped, with a message, when a model folder is absent.

use robot_hal::board::BoardFile;
use robot_hal::program;
use serde_json::Value;

mod common;

use common::{robot, root, text};

fn models_present() -> bool {
    let ok = ["models/brain/encoder.onnx", "models/asr/model.onnx", "models/vad/silero_vad_16k.onnx"]
        .iter()
        .all(|p| root().join(p).exists());
    if !ok {
        eprintln!("skipped: a model folder (brain, asr or vad) is absent");
    }
    ok
}

const PARITY_WAV: &str = "models/asr/parity/utterance.wav";

/// A 16-bit mono WAV file of `samples`.
fn wav(samples: &[i16], rate: u32) -> Vec<u8> {
    let data = (samples.len() * 2) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        b.extend_from_slice(&s.to_le_bytes());
    }
    b
}

#[test]
fn a_recording_gives_the_plan_json_with_its_transcript() {
    if !models_present() {
        return;
    }
    let o = robot(&["plan", "--audio", PARITY_WAV, "--json"]);
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).expect("one JSON object");
    let transcript = v["transcript"].as_str().expect("a transcript string").to_string();
    assert!(!transcript.is_empty(), "{v}");
    // A model that hears it less clearly may withhold the plan: exit 4 and
    // the withheld plan, still valid, under "plan".
    let (v, unclear) = match v["status"].as_str() {
        Some("unclear") => (v["plan"].clone(), true),
        _ => (v, false),
    };
    assert_eq!(o.status.code(), Some(if unclear { 4 } else { 0 }), "{}", text(&o.stderr));
    assert_eq!(v["utterance"], transcript, "the brain planned what was heard");
    let registry = BoardFile::load(root().join("boards/sim-rover.toml")).unwrap().registry();
    match v["status"].as_str() {
        Some("ok") => registry.validate(&program::parse(v["program"].as_str().unwrap()).unwrap()).unwrap(),
        Some("unsupported") => assert_eq!(v["steps"], serde_json::json!([])),
        other => panic!("status {other:?}"),
    }
    let o = robot(&["plan", "--audio", PARITY_WAV]);
    assert_eq!(o.status.code(), Some(if unclear { 4 } else { 0 }), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with(&format!("heard: {transcript}\n")), "{out}");
}

#[test]
fn silence_is_no_speech_and_bad_files_are_named_errors() {
    if !models_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let silent = dir.path().join("silent.wav");
    std::fs::write(&silent, wav(&vec![0; 32000], 16000)).unwrap();
    let o = robot(&["plan", "--audio", silent.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!((v["status"].as_str(), v["transcript"].as_str()), (Some("no_speech"), Some("")));
    let o = robot(&["plan", "--audio", silent.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o.stdout).contains("no speech"), "{}", text(&o.stdout));

    let not_wav = dir.path().join("notes.wav");
    std::fs::write(&not_wav, "this is not audio\n").unwrap();
    let full = std::fs::read(root().join(PARITY_WAV)).unwrap();
    let truncated = dir.path().join("truncated.wav");
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    let missing = dir.path().join("missing.wav");
    for (path, says) in [(&not_wav, "not a WAV"), (&truncated, "truncated"), (&missing, "missing.wav")] {
        let o = robot(&["plan", "--audio", path.to_str().unwrap(), "--json"]);
        assert_eq!(o.status.code(), Some(2), "{}", path.display()); // the binary's exit code for errors
        let err = text(&o.stderr);
        assert!(err.contains(path.file_name().unwrap().to_str().unwrap()) && err.contains(says), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The text path is unchanged, and text and audio together are refused.
    let o = robot(&["plan", "--json", "stop"]);
    assert!(o.status.success());
    assert!(!robot(&["plan", "--audio", PARITY_WAV, "stop"]).status.success());
}

#[test]
fn eval_voice_reports_wer_accuracy_and_latency() {
    if !models_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root().join(PARITY_WAV), dir.path().join("a.wav")).unwrap();
    std::fs::write(dir.path().join("silent.wav"), wav(&vec![0; 16000], 16000)).unwrap();
    let cases = concat!(
        r#"{"id": "a", "utterance": "do you mind closing the gripper", "tag": "objects", "status": "ok", "steps": [{"tool": "gripper", "args": {"action": "close"}}], "wav": "a.wav", "voice": "test", "noise_snr_db": null}"#,
        "\n",
        r#"{"id": "b", "utterance": "fly to the moon", "tag": "unsupported", "status": "unsupported", "steps": [], "wav": "silent.wav", "voice": "test", "noise_snr_db": 12}"#,
        "\n"
    );
    let file = dir.path().join("cases.jsonl");
    std::fs::write(&file, cases).unwrap();
    let o = robot(&["eval", "voice", file.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["cases"], 2);
    assert_eq!(v["wer_noisy"], 1.0, "nothing heard in the silent file: every word deleted");
    assert_eq!(v["unsupported_refused"], 0, "no speech is not a refusal");
    assert_eq!(v["results"][1]["status"], "no_speech");
    assert!(v["rtf"].as_f64().unwrap() > 0.0);
    assert!(v["latency_ms_p50"].as_f64().unwrap() > 0.0);
    assert!(v["per_noise_level"]["snr 10-15 dB"]["cases"] == 1);
    assert!(v["asked_to_repeat"].as_u64().unwrap() <= 1);
    assert!(v["wrong_plans_acted_on"].as_u64().unwrap() <= 1, "no plan at all for the silent file");
    // With the threshold off nothing is withheld.
    let o = robot(&["eval", "voice", file.to_str().unwrap(), "--json", "--min-agreement", "0"]);
    let v: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["asked_to_repeat"], 0);
    assert!(!robot(&["eval", "voice", file.to_str().unwrap(), "--min-agreement", "2"]).status.success());
    let o = robot(&["eval", "voice", file.to_str().unwrap()]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    for k in [
        "WER: clean",
        "plan accuracy",
        "asked to repeat",
        "wrong plans acted on",
        "real-time factor",
        "latency end of speech",
    ] {
        assert!(out.contains(k), "{k} missing:\n{out}");
    }
}
