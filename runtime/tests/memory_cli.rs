//! `robot memory ...` reads a memory database written by the store.

use robot_hal::{Detection, Pose};
use robot_runtime::memory::{EpisodeRecord, MemoryStore, NoteKind};

mod common;

fn robot(args: &[&str]) -> (bool, String, String) {
    let out = common::command(env!("CARGO_BIN_EXE_robot")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn memory_subcommands_list_what_the_store_holds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("memory.db");
    let s = MemoryStore::open(&db).unwrap();
    s.remember_place("reading corner", Pose::new(2.0, 5.5, 90.0), 1_000_000).unwrap();
    let seen = [
        Detection { label: "red ball".into(), bearing_deg: 0.0, distance_m: 1.0 },
        Detection { label: "blue cup".into(), bearing_deg: 90.0, distance_m: 1.0 },
    ];
    s.record_objects(&seen, Pose::default(), 2_000_000).unwrap();
    s.record_episode(&EpisodeRecord {
        command: "go to the attic".into(),
        program: "go_to(place=\"attic\")".into(),
        decision: "rejected".into(),
        status: "rejected".into(),
        reason: "unknown place `attic`".into(),
        steps: serde_json::json!([]),
        started_at_us: 3_000_000,
        ended_at_us: 3_000_100,
    })
    .unwrap();
    s.add_note(NoteKind::Preference, "drive slowly", 4_000_000).unwrap();
    let db = db.to_str().unwrap();

    let (ok, out, err) = robot(&["memory", "places", "--db", db]);
    assert!(ok && out.contains("reading corner") && out.contains("remembered"), "{out}{err}");
    let (ok, out, _) = robot(&["memory", "--db", db, "objects", "--label", "ball"]);
    assert!(ok && out.contains("red ball") && !out.contains("blue cup"), "{out}");
    let (ok, out, _) = robot(&["memory", "episodes", "--limit", "5", "--db", db, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(ok && v[0]["command"] == "go to the attic" && v[0]["decision"] == "rejected", "{out}");
    let (ok, out, _) = robot(&["memory", "notes", "--db", db]);
    assert!(ok && out.contains("[preference] drive slowly"), "{out}");

    let missing = dir.path().join("nope.db");
    let (ok, _, err) = robot(&["memory", "places", "--db", missing.to_str().unwrap()]);
    assert!(!ok && err.contains("no memory database"), "{err}");
    assert!(!missing.exists(), "reading must not create a database");
}
