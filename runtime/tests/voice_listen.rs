//! `robot listen` end to end without a microphone: a WAV file streamed with
//! `--fast` through VAD, the on-device speech model, the brain and the
//! simulated rover, with `--json` output. The transcript's words are not
//! asserted (the development speech model is weak and will be replaced),
//! only that an utterance was heard and planned; a non-WAV input must fail
//! with a clear error.

mod common;

use common::{robot, root};

fn lines(b: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(b).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn a_wav_file_is_heard_planned_and_run_on_the_sim() {
    let wav = root().join("models/asr/parity/utterance.wav");
    let out = robot(&["listen", "--input", wav.to_str().unwrap(), "--fast", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let events = lines(&out.stdout);
    let heard: Vec<_> = events.iter().filter(|e| e["event"] == "heard").collect();
    assert_eq!(heard.len(), 1, "one utterance in {events:?}");
    let h = heard[0];
    assert!(h["text"].as_str().is_some_and(|t| !t.trim().is_empty()), "{h}");
    assert_eq!(h["engine"], "on-device");
    assert!(h["start_s"].as_f64().unwrap() < h["end_s"].as_f64().unwrap());
    // The transcript comes before what the brain made of it.
    let heard_at = events.iter().position(|e| e["event"] == "heard").unwrap();
    let plan_at = events.iter().position(|e| e["event"] == "plan").expect("a plan line");
    assert!(heard_at < plan_at);
    assert_eq!(events[plan_at]["plan"]["utterance"], h["text"]);
}

#[test]
fn a_file_that_is_not_wav_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, b"this is not audio").unwrap();
    let out = robot(&["listen", "--input", bad.to_str().unwrap(), "--fast", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a WAV file") && stderr.contains("bad.wav"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(lines(&out.stdout).iter().all(|e| e["event"] != "heard"));
}

#[test]
fn an_unknown_stt_engine_is_refused() {
    let wav = root().join("models/asr/parity/utterance.wav");
    let out = robot(&["listen", "--input", wav.to_str().unwrap(), "--fast", "--stt", "cloud://x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown speech-to-text engine"));
}

#[test]
fn a_capture_command_is_the_microphone_and_its_end_ends_the_loop() {
    // What `arecord -t raw` would write: the WAV's PCM without its 44-byte
    // header. `tail` writes it all at once; the reader holds it back.
    let wav = root().join("models/asr/parity/utterance.wav");
    let command = format!("tail -c +45 '{}'", wav.display());
    let out = robot(&["listen", "--mic-command", &command, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let events = lines(&out.stdout);
    let heard: Vec<_> = events.iter().filter(|e| e["event"] == "heard").collect();
    assert_eq!(heard.len(), 1, "one utterance in {events:?}; stderr: {stderr}");
    assert!(heard[0]["text"].as_str().is_some_and(|t| !t.trim().is_empty()), "{}", heard[0]);
    assert!(events.iter().any(|e| e["event"] == "plan"), "{events:?}");
    assert!(!stderr.contains("dropped"), "{stderr}");
}

#[test]
fn a_capture_command_that_cannot_start_is_a_clear_error() {
    let out = robot(&["listen", "--mic-command", "/nonexistent/arecord -q", "--json"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Natively the spawn fails; under qemu-user the child exits 127.
    assert!(stderr.contains("cannot start the capture command") || stderr.contains("127"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_capture_command_that_fails_is_an_error_not_a_quiet_end() {
    // arecord with a device that does not exist prints why and exits 1.
    let out = robot(&["listen", "--mic-command", "sh -c 'echo audio open error >&2; exit 1'", "--json"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("audio open error") && stderr.contains("capture command"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
