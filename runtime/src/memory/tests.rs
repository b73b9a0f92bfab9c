use robot_hal::{Detection, Pose};
use serde_json::json;

use super::store::{colour_of, world_xy};
use super::*;

fn det(label: &str, bearing_deg: f64, distance_m: f64) -> Detection {
    Detection { label: label.into(), bearing_deg, distance_m }
}

fn episode(command: &str, t: u64) -> EpisodeRecord {
    EpisodeRecord {
        command: command.into(),
        program: "drive(distance_m=1)".into(),
        decision: "accepted".into(),
        status: "done".into(),
        reason: String::new(),
        steps: json!([{"tool": "drive", "status": "done"}]),
        started_at_us: t,
        ended_at_us: t + 10,
    }
}

#[test]
fn places_round_trip_and_move() {
    let s = MemoryStore::in_memory().unwrap();
    assert!(s.place("sofa").unwrap().is_none());
    let first = s.remember_place("sofa", Pose::new(1.0, 2.0, 90.0), 1_000).unwrap();
    let got = s.place("sofa").unwrap().unwrap();
    assert_eq!(got, first);
    assert_eq!((got.source, got.has_heading, got.updated_at_us), (PlaceSource::Remembered, true, 1_000));
    let moved = s.remember_place("sofa", Pose::new(3.0, 4.0, 0.0), 2_000).unwrap();
    assert!(moved.outbox_seq > first.outbox_seq && moved.hlc > first.hlc);
    assert_eq!(s.place("sofa").unwrap().unwrap().pose, Pose::new(3.0, 4.0, 0.0));
    s.put_place("hall", Pose::new(5.0, 0.0, 0.0), false, PlaceSource::Fleet, 3_000).unwrap();
    let all = s.places().unwrap();
    assert_eq!(all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["hall", "sofa"]);
    assert!(!all[0].has_heading && all[0].source == PlaceSource::Fleet);
}

#[test]
fn bad_input_is_refused_without_writing() {
    let s = MemoryStore::in_memory().unwrap();
    assert!(matches!(s.remember_place("  ", Pose::default(), 0), Err(MemoryError::Invalid(_))));
    assert!(matches!(s.remember_place("x", Pose::new(f64::NAN, 0.0, 0.0), 0), Err(MemoryError::Invalid(_))));
    assert!(matches!(s.remember_place("x", Pose::default(), u64::MAX), Err(MemoryError::Invalid(_))));
    let bad = [det("red ball", 0.0, 1.0), det("cup", f64::INFINITY, 1.0)];
    assert!(matches!(s.record_objects(&bad, Pose::default(), 0), Err(MemoryError::Invalid(_))));
    assert!(matches!(s.add_note(NoteKind::Note, " ", 0), Err(MemoryError::Invalid(_))));
    assert!(s.objects(&ObjectFilter::default()).unwrap().is_empty());
    assert!(s.places().unwrap().is_empty());
    assert_eq!(s.last_seq().unwrap(), 0);
}

#[test]
fn colour_is_the_first_word_only_when_it_is_a_colour() {
    assert_eq!(colour_of("red ball").as_deref(), Some("red"));
    assert_eq!(colour_of("Yellow block").as_deref(), Some("yellow"));
    assert_eq!(colour_of("red"), None);
    assert_eq!(colour_of("toy car"), None);
    assert_eq!(colour_of(""), None);
}

#[test]
fn detections_go_to_world_coordinates() {
    // Facing +y; an object 2 m away 90 degrees to the left is at -x.
    let (x, y) = world_xy(Pose::new(1.0, 1.0, 90.0), &det("cup", 90.0, 2.0));
    assert!((x - -1.0).abs() < 1e-9 && (y - 1.0).abs() < 1e-9, "{x} {y}");
    let (x, y) = world_xy(Pose::new(0.0, 0.0, 0.0), &det("cup", -45.0, 2f64.sqrt()));
    assert!((x - 1.0).abs() < 1e-9 && (y - -1.0).abs() < 1e-9, "{x} {y}");
}

#[test]
fn objects_are_recorded_and_filtered() {
    let s = MemoryStore::in_memory().unwrap();
    let rows =
        s.record_objects(&[det("Red Ball", 0.0, 1.0), det("blue cup", 90.0, 2.0)], Pose::default(), 100).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].label.as_str(), rows[0].colour.as_deref()), ("red ball", Some("red")));
    assert!((rows[0].x - 1.0).abs() < 1e-9 && rows[0].y.abs() < 1e-9);
    s.record_objects(&[det("red cup", 0.0, 1.0)], Pose::new(5.0, 0.0, 0.0), 200).unwrap();
    s.record_objects(&[], Pose::default(), 250).unwrap();

    let all = s.objects(&ObjectFilter::default()).unwrap();
    assert_eq!(all.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(), ["red cup", "blue cup", "red ball"]);
    let cups = s.objects(&ObjectFilter { label_contains: Some("CUP".into()), ..Default::default() }).unwrap();
    assert_eq!(cups.len(), 2);
    let early = s.objects(&ObjectFilter { until_us: Some(150), ..Default::default() }).unwrap();
    assert_eq!(early.len(), 2);
    let late = s.objects(&ObjectFilter { since_us: Some(150), ..Default::default() }).unwrap();
    assert_eq!(late.iter().map(|o| o.seen_at_us).collect::<Vec<_>>(), [200]);
    let one = s.objects(&ObjectFilter { limit: Some(1), ..Default::default() }).unwrap();
    assert_eq!(one[0].label, "red cup");
    // A label with SQL pattern characters is matched literally.
    assert!(s.objects(&ObjectFilter { label_contains: Some("%".into()), ..Default::default() }).unwrap().is_empty());
    s.record_objects(&[det("red cup", 10.0, 1.0)], Pose::default(), 300).unwrap();
    assert_eq!(s.object_labels().unwrap(), ["blue cup", "red ball", "red cup"], "each label once");
}

#[test]
fn episodes_round_trip_newest_first() {
    let s = MemoryStore::in_memory().unwrap();
    let a = s.record_episode(&episode("drive a metre", 10)).unwrap();
    let b = s.record_episode(&episode("again", 20)).unwrap();
    let got = s.episodes(10).unwrap();
    assert_eq!(got, vec![b.clone(), a]);
    assert_eq!(got[0].record.steps[0]["tool"], "drive");
    assert_eq!(s.episodes(1).unwrap(), vec![b]);
    assert!(s.episodes(0).unwrap().is_empty());
}

#[test]
fn notes_round_trip_by_kind() {
    let s = MemoryStore::in_memory().unwrap();
    s.add_note(NoteKind::Note, "the cat sleeps on the sofa", 1).unwrap();
    let p = s.add_note(NoteKind::Preference, "drive slowly in the kitchen", 2).unwrap();
    assert_eq!(s.notes(None, 10).unwrap().len(), 2);
    assert_eq!(s.notes(Some(NoteKind::Preference), 10).unwrap(), vec![p]);
    assert_eq!(s.notes(None, 1).unwrap()[0].text, "drive slowly in the kitchen");
}

#[test]
fn every_record_takes_the_next_sequence_number_and_a_unique_uid() {
    let s = MemoryStore::in_memory_with(StoreConfig { robot_id: "rover-7".into(), ..Default::default() }).unwrap();
    let p = s.remember_place("a", Pose::default(), 5_000).unwrap();
    let o = s.record_objects(&[det("cup", 0.0, 1.0), det("box", 0.0, 1.0)], Pose::default(), 5_000).unwrap();
    let e = s.record_episode(&episode("x", 5_000)).unwrap();
    let n = s.add_note(NoteKind::Note, "y", 4_000).unwrap();
    let seqs = [p.outbox_seq, o[0].outbox_seq, o[1].outbox_seq, e.outbox_seq, n.outbox_seq];
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(s.last_seq().unwrap(), 5);
    assert_eq!((o[0].uid.as_str(), n.uid.as_str()), ("rover-7:2", "rover-7:5"));
    // The clock went back for the note, the HLC did not.
    let hlcs = [p.hlc, o[0].hlc, o[1].hlc, e.hlc, n.hlc];
    assert!(hlcs.windows(2).all(|w| w[0] < w[1]), "{hlcs:?}");
    assert_eq!(n.hlc, Hlc { wall_ms: 5, counter: 4 });
}

#[test]
fn hlc_ticks_and_packs() {
    let a = Hlc::tick(Hlc::default(), 7_000);
    assert_eq!(a, Hlc { wall_ms: 7, counter: 0 });
    assert_eq!(Hlc::tick(a, 7_500), Hlc { wall_ms: 7, counter: 1 });
    assert_eq!(Hlc::tick(Hlc { wall_ms: 7, counter: u16::MAX }, 1), Hlc { wall_ms: 8, counter: 0 });
    for h in [a, Hlc { wall_ms: Hlc::MAX_WALL_MS, counter: u16::MAX }, Hlc { wall_ms: 1_700_000_000_000, counter: 3 }] {
        assert_eq!(Hlc::unpack(h.pack()), h);
    }
    assert!(Hlc { wall_ms: 1, counter: 0 }.pack() > Hlc { wall_ms: 0, counter: 9 }.pack());
}

#[test]
fn retention_deletes_the_oldest_rows_beyond_each_cap() {
    let retention = Retention { max_objects: 3, max_episodes: 2, max_notes: 1, max_places: 2 };
    let s = MemoryStore::in_memory_with(StoreConfig { retention, ..Default::default() }).unwrap();
    for i in 0..5u64 {
        s.record_objects(&[det(&format!("thing {i}"), 0.0, 1.0)], Pose::default(), i).unwrap();
        s.record_episode(&episode(&format!("run {i}"), i)).unwrap();
        s.add_note(NoteKind::Note, &format!("note {i}"), i).unwrap();
    }
    // One batch larger than the cap keeps only its newest rows.
    let labels =
        |s: &MemoryStore| s.objects(&ObjectFilter::default()).unwrap().into_iter().map(|o| o.label).collect::<Vec<_>>();
    assert_eq!(labels(&s), ["thing 4", "thing 3", "thing 2"]);
    let cmds: Vec<_> = s.episodes(10).unwrap().into_iter().map(|e| e.record.command).collect();
    assert_eq!(cmds, ["run 4", "run 3"]);
    assert_eq!(s.notes(None, 10).unwrap()[0].text, "note 4");
    assert_eq!(s.notes(None, 10).unwrap().len(), 1);
    let batch: Vec<_> = (0..5).map(|i| det(&format!("batch {i}"), 0.0, 1.0)).collect();
    s.record_objects(&batch, Pose::default(), 9).unwrap();
    assert_eq!(labels(&s), ["batch 4", "batch 3", "batch 2"]);

    // Board places stay; the least recently updated other place goes.
    s.put_place("dock", Pose::default(), true, PlaceSource::Board, 0).unwrap();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        s.remember_place(name, Pose::default(), i as u64).unwrap();
    }
    s.remember_place("b", Pose::new(1.0, 0.0, 0.0), 9).unwrap();
    s.remember_place("d", Pose::default(), 10).unwrap();
    let names: Vec<_> = s.places().unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["b", "d", "dock"]);
}

#[test]
fn board_places_are_synced_without_overwriting_remembered_ones() {
    let s = MemoryStore::in_memory().unwrap();
    let board =
        vec![("dock".to_string(), Pose::new(0.0, 0.0, 180.0), true), ("hall".into(), Pose::new(2.0, 0.0, 0.0), false)];
    assert_eq!(s.sync_board_places(&board, 1).unwrap(), 2);
    assert_eq!(s.sync_board_places(&board, 2).unwrap(), 0, "unchanged places are not rewritten");
    s.remember_place("dock", Pose::new(1.0, 1.0, 0.0), 3).unwrap();
    let moved =
        vec![("dock".to_string(), Pose::new(9.0, 9.0, 0.0), true), ("hall".into(), Pose::new(3.0, 0.0, 0.0), false)];
    assert_eq!(s.sync_board_places(&moved, 4).unwrap(), 1);
    assert_eq!(s.place("dock").unwrap().unwrap().pose, Pose::new(1.0, 1.0, 0.0));
    let hall = s.place("hall").unwrap().unwrap();
    assert_eq!((hall.pose.x, hall.source, hall.has_heading), (3.0, PlaceSource::Board, false));
}

#[test]
fn file_store_reopens_with_its_records_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    {
        let s = MemoryStore::open_with(&path, StoreConfig { robot_id: "r1".into(), ..Default::default() }).unwrap();
        s.remember_place("sofa", Pose::new(1.0, 2.0, 3.0), 1).unwrap();
        s.add_note(NoteKind::Preference, "quiet after 10 pm", 2).unwrap();
    }
    // The file keeps its first robot id.
    let s = MemoryStore::open_with(&path, StoreConfig { robot_id: "other".into(), ..Default::default() }).unwrap();
    assert_eq!(s.robot_id(), "r1");
    assert_eq!(s.place("sofa").unwrap().unwrap().pose, Pose::new(1.0, 2.0, 3.0));
    assert_eq!(s.add_note(NoteKind::Note, "z", 3).unwrap().outbox_seq, 3);
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let sync: i64 = s.with_conn_for_test(|c| c.query_row("PRAGMA synchronous", [], |r| r.get(0))).unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[test]
fn two_connections_writing_at_once_wait_for_each_other_instead_of_failing() {
    // Two handles opened separately are two SQLite connections, like the
    // robot's store and the sync link's outbox on one memory file. With
    // deferred transactions one of them fails with "database is locked"
    // within a few writes; with immediate ones every write waits its turn.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let cfg = StoreConfig { robot_id: "r1".into(), ..Default::default() };
    let a = MemoryStore::open_with(&path, cfg.clone()).unwrap();
    let b = MemoryStore::open_with(&path, cfg).unwrap();
    const WRITES: u64 = 150;
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let writers: Vec<_> = [a.clone(), b]
        .into_iter()
        .enumerate()
        .map(|(w, store)| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                (0..WRITES)
                    .map(|i| {
                        if i % 2 == 0 {
                            store.add_note(NoteKind::Note, &format!("writer {w} note {i}"), i).map(|n| n.outbox_seq)
                        } else {
                            store
                                .remember_place(&format!("p{w}-{i}"), Pose::new(1.0, 2.0, 0.0), i)
                                .map(|p| p.outbox_seq)
                        }
                    })
                    .collect::<Result<Vec<i64>, MemoryError>>()
            })
        })
        .collect();
    let mut seqs: Vec<i64> = writers.into_iter().flat_map(|h| h.join().unwrap().unwrap()).collect();
    seqs.sort_unstable();
    let total = 2 * WRITES as i64;
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>(), "every write got its own sequence number");
    assert_eq!(a.last_seq().unwrap(), total);
    assert_eq!(a.integrity_check().unwrap(), "ok");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    assert!(matches!(MemoryStore::open(&path), Err(MemoryError::NewerSchema { found: 99, known: SCHEMA_VERSION })));
}

mod with_the_executor {
    use robot_hal::board::{BoardFile, Level};
    use robot_hal::program;

    use super::*;
    use crate::executor::{RunStatus, YesToAll};
    use crate::recorder::Recorder;
    use crate::session::{SessionSpec, SimSession};

    const BOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml");

    fn session(store: Option<MemoryStore>) -> SimSession {
        let board = BoardFile::load(BOARD).unwrap();
        let spec =
            SessionSpec { board_path: BOARD.into(), seed: 3, level: Some(Level::L4), yes: true, estop_at_s: None };
        let mut s = SimSession::start(board, &spec, Recorder::memory()).unwrap();
        match store {
            Some(store) => s.executor.attach_memory(store).unwrap(),
            // A simulated session attaches an in-memory store by default;
            // drop it to exercise the store-less path.
            None => s.executor.places = crate::places::PlaceMemory::from_board(&s.executor.board),
        }
        s
    }

    fn run(s: &mut SimSession, text: &str) -> crate::executor::RunReport {
        let p = program::parse(text).unwrap();
        s.run(text, &p, &mut YesToAll)
    }

    #[test]
    fn runs_become_episodes_scans_objects_and_places_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.db");
        let store = MemoryStore::open(&path).unwrap();
        let mut s = session(Some(store.clone()));
        let text = "turn(angle_deg=90); scan(); remember_place(name=\"my lookout\")";
        let r = run(&mut s, text);
        assert_eq!(r.status, RunStatus::Done, "{r:?}");
        let seen = r.steps[1].observed["objects"].as_array().unwrap().len();
        assert_eq!(r.steps[1].observed["recorded"], json!(seen));
        assert_eq!(store.objects(&ObjectFilter::default()).unwrap().len(), seen);
        let lookout = store.place("lookout").unwrap().unwrap();
        assert_eq!(lookout.source, PlaceSource::Remembered);

        let r2 = run(&mut s, "go_to(place=\"attic\")");
        assert_ne!(r2.status, RunStatus::Done);
        let eps = store.episodes(10).unwrap();
        assert_eq!(eps.len(), 2);
        assert_eq!(eps[1].record.command, text);
        assert_eq!((eps[1].record.decision.as_str(), eps[1].record.status.as_str()), ("accepted", "done"));
        assert_eq!(eps[1].record.steps.as_array().unwrap().len(), 3);
        assert!(eps[1].record.ended_at_us > eps[1].record.started_at_us);
        assert_eq!(eps[0].record.status, r2.status.as_str());
        assert_eq!(eps[0].record.reason, r2.reason);
        assert!(r2.reason.contains("attic") && r2.reason.contains("lookout"), "{}", r2.reason);
        drop(s);

        // A new session on the same file knows the remembered place.
        let mut s = session(Some(MemoryStore::open(&path).unwrap()));
        assert!(s.executor.places.get("my lookout").is_some());
        let r = run(&mut s, "go_to(place=\"lookout\")");
        assert_eq!(r.status, RunStatus::Done, "{r:?}");
    }

    #[test]
    fn without_a_store_nothing_changes() {
        let mut s = session(None);
        let r = run(&mut s, "scan(); remember_place(name=\"corner\")");
        assert_eq!(r.status, RunStatus::Done);
        assert!(r.steps[0].observed.get("recorded").is_none());
        assert!(s.executor.memory().is_none());
        assert!(s.executor.places.get("corner").is_some());
    }
}
