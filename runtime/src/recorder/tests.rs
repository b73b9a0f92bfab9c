//! Unit tests of the flight recorder: format, round trip, torn lines,
//! reopening, determinism.

use std::io::Write;
use std::time::Duration;

use robot_hal::Pose;
use serde_json::json;

use super::*;

fn every_kind() -> Vec<Event> {
    vec![
        Event::RunStart {
            board: "boards/sim-rover.toml".into(),
            robot_id: "sim-rover-1".into(),
            seed: 7,
            level: "L4".into(),
            yes: true,
            estop_at_s: Some(2.5),
        },
        Event::Input { source: "operator".into(), text: "drive(distance_m=1)".into(), confidence: None },
        Event::Plan {
            program: "drive(distance_m=1)".into(),
            steps: json!([{"tool": "drive", "args": {"distance_m": 1.0}}]),
        },
        Event::Decision { decision: "accepted".into(), reason: "NotNeeded at L4".into() },
        Event::Confirm { question: "Run this plan?".into(), answer: "yes".into() },
        Event::StepStart { index: 0, tool: "drive".into(), args: json!({"distance_m": 1.0}) },
        Event::StepEnd {
            index: 0,
            tool: "drive".into(),
            status: "done".into(),
            attempts: 1,
            expected: json!({"distance_m": 1.0}),
            observed: json!({"distance_m": 0.998}),
            message: String::new(),
        },
        Event::Safety { what: "latch_engaged".into(), detail: "line".into() },
        Event::Level { from: "L4".into(), to: "L2".into(), reason: "step failed".into() },
        Event::RunEnd {
            status: "done".into(), reason: "ünïcode ✓".into(), final_pose: Some(Pose::new(1.0, 0.0, 0.5))
        },
    ]
}

fn write_all(rec: &mut Recorder, events: Vec<Event>) {
    for (i, e) in events.into_iter().enumerate() {
        rec.record(Duration::from_micros(1000 * i as u64 + 5), e).unwrap();
    }
}

#[test]
fn the_line_format_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let mut rec = Recorder::create(&path).unwrap();
    rec.record(
        Duration::from_millis(1500),
        Event::Input { source: "operator".into(), text: "stop".into(), confidence: None },
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"seq\":0,\"t_us\":1500000,\"event\":{\"type\":\"input\",\"source\":\"operator\",\"text\":\"stop\"}}\n"
    );
    let kinds: Vec<&str> = every_kind().iter().map(Event::kind).collect();
    for (e, kind) in every_kind().iter().zip(kinds) {
        assert_eq!(serde_json::to_value(e).unwrap()["type"], kind);
    }
}

#[test]
fn records_round_trip_through_a_file_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/log.jsonl");
    let mut file = Recorder::create(&path).unwrap();
    let mut mem = Recorder::memory();
    write_all(&mut file, every_kind());
    write_all(&mut mem, every_kind());
    assert!(file.records().is_empty());
    let log = read_log(&path).unwrap();
    assert_eq!(log.truncated_tail, None);
    assert_eq!(log.records, mem.records());
    assert_eq!(log.records.len(), 10);
    for (i, r) in log.records.iter().enumerate() {
        assert_eq!((r.seq, r.t_us), (i as u64, 1000 * i as u64 + 5));
    }
    assert_eq!(log.records.iter().map(|r| r.event.clone()).collect::<Vec<_>>(), every_kind());
}

#[test]
fn a_torn_last_line_is_reported_and_earlier_records_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    write_all(&mut Recorder::create(&path).unwrap(), every_kind());
    let whole = std::fs::read(&path).unwrap();
    let last_start = whole[..whole.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let last_line = String::from_utf8(whole[last_start..].to_vec()).unwrap();
    // Cut the last line (which holds multi-byte text) at every byte.
    for cut in last_start + 1..whole.len() - 1 {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let log = read_log(&path).unwrap();
        assert_eq!(log.records.len(), 9, "cut at {cut}");
        let tail = log.truncated_tail.expect("a torn tail");
        // A character cut in half shows as a replacement character.
        assert!(last_line.starts_with(tail.trim_end_matches('\u{FFFD}')), "{tail}");
    }
    // Cut exactly before the newline: the record is whole and kept.
    std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
    let log = read_log(&path).unwrap();
    assert_eq!((log.records.len(), log.truncated_tail), (10, None));
}

#[test]
fn a_bad_line_in_the_middle_is_an_error_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    write_all(&mut Recorder::create(&path).unwrap(), every_kind());
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{\"seq\":3,\"t_us\":";
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    match read_log(&path) {
        Err(RecorderError::Malformed { line, .. }) => assert_eq!(line, 4),
        other => panic!("expected a malformed-line error, got {other:?}"),
    }
    assert!(Recorder::create(&path).is_err(), "a damaged log is not appended to");
    assert!(matches!(read_log(dir.path().join("missing.jsonl")), Err(RecorderError::Io { .. })));
}

#[test]
fn reopening_appends_and_continues_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    write_all(&mut Recorder::create(&path).unwrap(), every_kind()[..3].to_vec());
    let mut again = Recorder::create(&path).unwrap();
    assert_eq!(again.next_seq(), 3);
    write_all(&mut again, every_kind()[3..5].to_vec());
    let log = read_log(&path).unwrap();
    assert_eq!(log.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    assert_eq!(log.records[3].event, every_kind()[3]);
}

#[test]
fn reopening_after_a_crash_cuts_the_torn_line_and_writes_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    write_all(&mut Recorder::create(&path).unwrap(), every_kind()[..2].to_vec());
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"seq\":2,\"t_us\":9,\"ev").unwrap();
    let mut again = Recorder::create(&path).unwrap();
    assert_eq!(again.discarded_tail(), Some("{\"seq\":2,\"t_us\":9,\"ev"));
    again.record(Duration::from_micros(10), every_kind()[2].clone()).unwrap();
    let log = read_log(&path).unwrap();
    assert_eq!(log.truncated_tail, None);
    assert_eq!(log.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2]);

    // A whole last record missing only its newline is kept and completed.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let mut third = Recorder::create(&path).unwrap();
    assert_eq!((third.next_seq(), third.discarded_tail()), (3, None));
    third.record(Duration::from_micros(11), every_kind()[3].clone()).unwrap();
    assert_eq!(read_log(&path).unwrap().records.len(), 4);
}

#[test]
fn identical_event_sequences_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    for p in [&a, &b] {
        let mut r = Recorder::create(p).unwrap().with_sync(SyncPolicy::Always);
        write_all(&mut r, every_kind());
        std::thread::sleep(Duration::from_millis(3));
        write_all(&mut r, every_kind());
    }
    let (a, b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(a, b);
    assert_eq!(a.iter().filter(|&&c| c == b'\n').count(), 20);
}

#[test]
fn non_finite_numbers_are_recorded_as_absent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let mut rec = Recorder::create(&path).unwrap();
    let end = Event::RunEnd {
        status: "failed".into(),
        reason: String::new(),
        final_pose: Some(Pose::new(f64::NAN, 0.0, 0.0)),
    };
    rec.record(Duration::ZERO, end).unwrap();
    let log = read_log(&path).unwrap();
    assert!(matches!(&log.records[0].event, Event::RunEnd { final_pose: None, .. }));
}

#[test]
fn safety_events_and_run_ends_must_persist() {
    let persist: Vec<bool> = every_kind().iter().map(Event::must_persist).collect();
    assert_eq!(persist, [false, false, false, false, false, false, false, true, false, true]);
}
