//! `robot plan` and `robot eval plan` against the committed brain in
//! `models/brain/`, run as a user would run them. Whatever the model's
//! training, every `ok` plan must be a program that parses and validates
//! against the board (constrained decoding guarantees it), bad input gets an
//! `unsupported` answer rather than a crash, and a missing brain is a clear
//! error. Skipped, with a message, when the brain's assets are absent.

use robot_hal::board::BoardFile;
use robot_hal::program;
use serde_json::Value;

mod common;

use common::{robot, root, text};

fn brain_present() -> bool {
    let ok = root().join("models/brain/encoder.onnx").exists();
    if !ok {
        eprintln!("skipped: models/brain/encoder.onnx is absent");
    }
    ok
}

#[test]
fn plan_json_is_the_spec_object_with_a_valid_program() {
    if !brain_present() {
        return;
    }
    let registry = BoardFile::load(root().join("boards/sim-rover.toml")).unwrap().registry();
    for utterance in [
        "drive forward two meters then turn right",
        "go to the kitchen and say dinner is ready",
        "fly to the moon",
        "",
        "🤖🤖🤖",
        "¿dónde está la cocina?",
        &"turn left ".repeat(1200),
    ] {
        let o = robot(&["plan", "--json", utterance]);
        assert!(o.status.success(), "{utterance:?}: {}", text(&o.stderr));
        let v: Value = serde_json::from_str(text(&o.stdout).trim()).expect("one JSON object");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in ["utterance", "status", "program", "steps", "confidence"] {
            assert!(keys.contains(&k), "{k} missing in {v}");
        }
        assert_eq!(v["utterance"], utterance);
        let c = v["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{v}");
        match v["status"].as_str() {
            Some("ok") => {
                let p = program::parse(v["program"].as_str().unwrap()).expect("the program parses");
                registry.validate(&p).expect("the program validates");
                assert_eq!(p.to_json(), Some(v["steps"].clone()));
            }
            Some("unsupported") => assert_eq!(v["steps"], serde_json::json!([])),
            other => panic!("status {other:?}"),
        }
        if utterance.is_empty() || utterance.len() > 5000 {
            assert_eq!(v["status"], "unsupported", "{utterance:?}");
        }
    }
}

#[test]
fn eval_plan_reports_accuracy_tags_failures_and_latency() {
    if !brain_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set.jsonl");
    std::fs::write(
        &set,
        concat!(
            r#"{"id": "d1", "utterance": "drive forward two meters", "tag": "drive", "status": "ok", "steps": [{"tool": "drive", "args": {"distance_m": 2.0}}]}"#,
            "\n",
            r#"{"id": "u1", "utterance": "what is the capital of france", "tag": "unsupported", "status": "unsupported", "steps": []}"#,
            "\n",
            r#"{"id": "s1", "utterance": "say hello", "tag": "single tools", "status": "ok", "steps": [{"tool": "say", "args": {"text": "hello"}}]}"#,
            "\n"
        ),
    )
    .unwrap();
    let o = robot(&["eval", "plan", set.to_str().unwrap()]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert!(out.contains("accuracy: ") && out.contains("/3 = "), "{out}");
    for tag in ["drive", "unsupported", "single tools"] {
        assert!(out.lines().any(|l| l.trim_start().starts_with(tag) && l.contains("/1")), "{tag}: {out}");
    }
    assert!(out.contains("latency: p50 ") && out.contains("p99 "), "{out}");
    let passed: usize = out["accuracy: ".len()..].split('/').next().unwrap().parse().unwrap();
    let listed = out.lines().filter(|l| l.trim_start().starts_with("expected: ")).count();
    assert_eq!(passed + listed, 3, "every failure is listed:\n{out}");

    std::fs::write(&set, "{not json\n").unwrap();
    let o = robot(&["eval", "plan", set.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("line 1"), "{}", text(&o.stderr));
    let o = robot(&["eval", "plan", "/nonexistent/set.jsonl"]);
    assert!(!o.status.success());
}

#[test]
fn a_missing_brain_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = robot(&["plan", "--brain", dir.path().to_str().unwrap(), "turn left"]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("cannot load the brain") && err.contains("manifest.json"), "{err}");
    assert!(!err.contains("panicked"));
}
