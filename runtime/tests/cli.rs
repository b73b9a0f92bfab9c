//! The `robot` binary's command-line contract, run as a user or a script
//! would run it: `exec --json` reports (one JSON object on the last line of
//! stdout, its status for each way a run can end), `replay` of good, damaged
//! and torn flight logs, `check-board` on the shipped boards and on broken
//! ones (each refused with `path:line:column` pointing at the culprit), and
//! `tools`. Stdin is null, so there is never a terminal to ask.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

/// The workspace root: the default board and `boards/*.toml` are found from here.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn robot_command() -> Command {
    common::command(env!("CARGO_BIN_EXE_robot"))
}

fn robot(args: &[&str]) -> Output {
    robot_command().args(args).current_dir(root()).stdin(Stdio::null()).output().expect("the robot binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Neither stream may show a panic: bad input gets a message, not a crash.
fn assert_no_panic(o: &Output) {
    for text in [stdout(o), stderr(o)] {
        assert!(!text.contains("panicked"), "panic output:\n{text}");
    }
}

/// Run `robot exec --json ARGS` and parse its last stdout line.
fn exec_json(args: &[&str]) -> (Output, Value) {
    let mut all = vec!["exec", "--json"];
    all.extend_from_slice(args);
    let o = robot(&all);
    assert_no_panic(&o);
    let out = stdout(&o);
    let last = out.lines().last().unwrap_or_else(|| panic!("no stdout; stderr:\n{}", stderr(&o)));
    let report: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"));
    assert_report_shape(&report);
    (o, report)
}

/// The keys every report has, whatever its status.
fn assert_report_shape(r: &Value) {
    let obj = r.as_object().unwrap_or_else(|| panic!("report is not an object: {r}"));
    for key in ["status", "reason", "steps", "final_pose", "estop_latency_us"] {
        assert!(obj.contains_key(key), "report lacks `{key}`: {r}");
    }
    assert!(r["status"].is_string() && r["reason"].is_string(), "{r}");
    for key in ["x", "y", "heading_deg"] {
        assert!(r["final_pose"][key].is_number(), "final_pose.{key} is not a number: {r}");
    }
    let steps = r["steps"].as_array().unwrap_or_else(|| panic!("steps is not an array: {r}"));
    for s in steps {
        for key in ["tool", "args", "status", "expected", "observed"] {
            assert!(s.get(key).is_some(), "step lacks `{key}`: {s}");
        }
        assert!(s["tool"].is_string() && s["args"].is_object() && s["status"].is_string(), "{s}");
    }
}

fn step_statuses(r: &Value) -> Vec<&str> {
    r["steps"].as_array().map(|s| s.iter().filter_map(|s| s["status"].as_str()).collect()).unwrap_or_default()
}

#[test]
fn a_one_metre_square_at_l4_is_done_and_ends_near_the_dock() {
    let (o, r) = exec_json(&["--level", "L4", "repeat(4) { drive(distance_m=1); turn(angle_deg=90) }"]);
    assert!(o.status.success(), "exit {:?}: {r}", o.status);
    assert_eq!(r["status"], "done", "{r}");
    assert_eq!(step_statuses(&r), ["done"; 8], "{r}");
    assert_eq!(r["steps"][0]["tool"], "drive");
    assert_eq!(r["steps"][0]["args"]["distance_m"], 1.0);
    assert_eq!(r["steps"][1]["tool"], "turn");
    assert!(r["steps"][0]["observed"]["distance_m"].is_number(), "{r}");
    let (x, y) = (r["final_pose"]["x"].as_f64().unwrap_or(f64::NAN), r["final_pose"]["y"].as_f64().unwrap_or(f64::NAN));
    assert!(x.hypot(y) < 0.05, "final pose ({x}, {y}) is not within 5 cm of the dock: {r}");
    assert!(r["estop_latency_us"].is_null(), "{r}");
}

#[test]
fn the_kill_switch_during_a_drive_aborts_it_and_reports_the_latency() {
    let (o, r) = exec_json(&["--level", "L4", "--estop-at", "1", "drive(distance_m=3)"]);
    assert!(!o.status.success());
    assert_eq!(r["status"], "estopped", "{r}");
    assert_eq!(step_statuses(&r), ["aborted"], "{r}");
    assert!(r["estop_latency_us"].is_u64(), "estop_latency_us is not a number: {r}");
    // Stopped one second into a 3 m drive: well short of the goal.
    let x = r["final_pose"]["x"].as_f64().unwrap_or(f64::NAN);
    assert!(x > 0.0 && x < 1.0, "x = {x}: {r}");
}

#[test]
fn a_drive_beyond_the_rules_is_rejected_before_motion() {
    let (o, r) = exec_json(&["--level", "L4", "drive(distance_m=1000)"]);
    assert!(!o.status.success());
    assert_eq!(r["status"], "rejected", "{r}");
    assert!(r["reason"].as_str().unwrap_or("").contains("single-move limit"), "{r}");
    assert!(step_statuses(&r).iter().all(|s| *s == "skipped"), "{r}");
    assert_eq!(r["final_pose"]["x"], 0.0, "the rover moved: {r}");
}

#[test]
fn a_malformed_program_is_rejected_with_its_position() {
    let (o, r) = exec_json(&["drive(distance_m="]);
    assert!(!o.status.success());
    assert_eq!(r["status"], "rejected", "{r}");
    assert!(r["reason"].as_str().unwrap_or("").contains("1:18"), "{r}");
    assert_eq!(r["steps"], Value::Array(vec![]));
}

#[test]
fn an_unknown_tool_is_rejected() {
    let (o, r) = exec_json(&["--level", "L4", "fly(height_m=3)"]);
    assert!(!o.status.success());
    assert_eq!(r["status"], "rejected", "{r}");
    assert!(r["reason"].as_str().unwrap_or("").contains("unknown tool `fly`"), "{r}");
    assert_eq!(r["final_pose"]["x"], 0.0, "{r}");
}

#[test]
fn without_a_terminal_or_yes_a_step_needing_confirmation_is_not_run() {
    let (o, r) = exec_json(&["--level", "L1", "drive(distance_m=1)"]);
    assert!(!o.status.success());
    assert_eq!(r["status"], "needs_confirmation", "{r}");
    assert_eq!(step_statuses(&r), ["skipped"], "{r}");
    assert_eq!(r["final_pose"]["x"], 0.0, "{r}");
}

#[test]
fn yes_confirms_in_advance_at_l1() {
    let (o, r) = exec_json(&["--level", "L1", "--yes", "drive(distance_m=1)"]);
    assert!(o.status.success(), "{r}");
    assert_eq!(r["status"], "done", "{r}");
    let x = r["final_pose"]["x"].as_f64().unwrap_or(f64::NAN);
    assert!((x - 1.0).abs() < 0.05, "x = {x}: {r}");
}

#[test]
fn a_level_above_the_boards_cap_is_a_clear_error() {
    let o = robot(&["exec", "--json", "--level", "L5", "drive(distance_m=1)"]);
    assert_no_panic(&o);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("L5") && err.contains("cap L4"), "stderr: {err}");
    assert!(!stdout(&o).contains("\"status\":\"done\""), "it ran: {}", stdout(&o));
}

/// Write a flight log of a short run into `dir` and return its path.
fn write_log(dir: &Path) -> PathBuf {
    let log = dir.join("run.jsonl");
    let log_arg = log.to_str().expect("temp paths are UTF-8");
    let (o, r) =
        exec_json(&["--level", "L4", "--log", log_arg, "drive(distance_m=1); turn(angle_deg=90); say(text=hi)"]);
    assert!(o.status.success(), "{r}");
    log
}

fn replay(log: &Path) -> Output {
    let o = robot(&["replay", log.to_str().expect("temp paths are UTF-8")]);
    assert_no_panic(&o);
    o
}

#[test]
fn a_flight_log_replays_identically_and_damage_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = write_log(dir.path());
    let o = replay(&log);
    assert!(o.status.success(), "stdout:\n{}\nstderr:\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("replay identical"), "{}", stdout(&o));

    let text = std::fs::read_to_string(&log).expect("log written");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 5, "{text}");

    // A damaged record in the middle is an error naming its line.
    let mut bad = lines.clone();
    bad[2] = "{\"seq\": 2, \"t_us\": garbage";
    let bad_path = dir.path().join("bad.jsonl");
    std::fs::write(&bad_path, bad.join("\n") + "\n").expect("write");
    let o = replay(&bad_path);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.jsonl:3"), "stderr: {}", stderr(&o));
    assert!(!stdout(&o).contains("replay identical"));

    // A last line torn by a power cut is set aside; the rest still replays.
    let torn_path = dir.path().join("torn.jsonl");
    let last = lines.last().copied().unwrap_or_default();
    let kept = &text[..text.len() - last.len() - 1 + last.len() / 2];
    std::fs::write(&torn_path, kept).expect("write");
    let o = replay(&torn_path);
    assert!(stderr(&o).contains("torn record"), "stderr: {}", stderr(&o));
    assert!(o.status.success(), "stdout:\n{}\nstderr:\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("replay identical"), "{}", stdout(&o));
}

#[test]
fn a_log_that_the_replay_does_not_reproduce_differs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = write_log(dir.path());
    let text = std::fs::read_to_string(&log).expect("log written");
    // Same records, but the recorded drive claims another outcome.
    let changed = text.replacen("\"status\":\"done\"", "\"status\":\"failed\"", 1);
    assert_ne!(changed, text, "no step_end to change:\n{text}");
    std::fs::write(&log, changed).expect("write");
    let o = replay(&log);
    assert!(!o.status.success());
    assert!(stdout(&o).contains("replay DIFFERS"), "{}", stdout(&o));
}

#[test]
fn the_shipped_boards_check() {
    for board in ["boards/sim-rover.toml", "boards/serial-rover.toml"] {
        let o = robot(&["check-board", board]);
        assert_no_panic(&o);
        assert!(o.status.success(), "{board}: {}", stderr(&o));
        assert!(stdout(&o).contains("ok"), "{}", stdout(&o));
    }
}

/// A broken copy of the reference board: `edit` applied to its text, the
/// line the error must name, and words the message must contain.
struct Broken {
    name: &'static str,
    edit: fn(&str) -> String,
    /// The text of the line the error must point at.
    line_text: &'static str,
    says: &'static str,
}

fn replace(src: &str, from: &str, to: &str) -> String {
    assert!(src.contains(from), "the reference board has no `{from}`");
    src.replacen(from, to, 1)
}

fn broken_boards() -> Vec<Broken> {
    vec![
        Broken {
            name: "syntax",
            edit: |s| replace(s, "max_speed_mps = 0.5", "max_speed_mps = = 0.5"),
            line_text: "max_speed_mps = = 0.5",
            says: "invalid",
        },
        Broken {
            name: "unknown-key",
            edit: |s| replace(s, "max_steps = 200\n", "max_steps = 200\nmax_stepz = 3\n"),
            line_text: "max_stepz = 3",
            says: "unknown field `max_stepz`",
        },
        Broken {
            name: "default-above-cap",
            // The description mentions "default" first: the error must still
            // point at the key in [autonomy].
            edit: |s| {
                let s = replace(s, "description = \"Desktop", "description = \"The default desktop");
                replace(&s, "default = \"L2\"", "default = \"L5\"")
            },
            line_text: "default = \"L5\"",
            says: "above the board's cap",
        },
        Broken {
            name: "kill-switch-line-empty",
            edit: |s| replace(s, "line = \"sim:estop\"", "line = \"\""),
            line_text: "line = \"\"",
            says: "kill_switch.line is empty",
        },
        Broken {
            name: "no-kill-switch",
            edit: |s| replace(s, "[kill_switch]\nline = \"sim:estop\"\nactive_low = true\ndebounce_ms = 20\n", ""),
            line_text: "# The simulated reference rover (see ../shared/spec/rover-tools.md for the tool",
            says: "missing section [kill_switch]",
        },
        Broken {
            name: "duplicate-tool",
            edit: |s| format!("{s}\n[[tools]]\nname = \"turn\" # again\nrisk = \"motion\"\ndescription = \"Turn.\"\n"),
            // The second declaration, not the first.
            line_text: "name = \"turn\" # again",
            says: "tool `turn` is declared twice",
        },
        Broken {
            name: "enum-without-values",
            edit: |s| replace(s, "values = [\"open\", \"close\"]", "values = []"),
            line_text: "args = [{ name = \"action\", type = \"enum\", values = [] }]",
            says: "enum argument `action`",
        },
        Broken {
            name: "forbidden-unknown-tool",
            edit: |s| replace(s, "forbidden_tools = []", "forbidden_tools = [\"fly\"]"),
            line_text: "forbidden_tools = [\"fly\"]",
            says: "`fly`",
        },
        Broken {
            name: "roadmap-unknown-place",
            edit: |s| replace(s, "[\"hall-office\", \"office\"],", "[\"hall-office\", \"attic\"],"),
            line_text: "  [\"hall-office\", \"attic\"],",
            says: "unknown place or waypoint `attic`",
        },
        Broken {
            name: "duplicate-place",
            edit: |s| replace(s, "name = \"garage\"", "name = \"kitchen\" # was the garage"),
            // The garage's entry, now a second kitchen, not the first kitchen.
            line_text: "name = \"kitchen\" # was the garage",
            says: "place name `kitchen` is declared twice",
        },
        Broken {
            name: "geofence-two-corners",
            edit: |s| {
                replace(
                    s,
                    "geofence = [[-1.5, -5.0], [11.5, -5.0], [11.5, 7.0], [-1.5, 7.0]]",
                    "geofence = [[-1.5, -5.0], [11.5, -5.0]]",
                )
            },
            line_text: "geofence = [[-1.5, -5.0], [11.5, -5.0]]",
            says: "at least 3 corners",
        },
        Broken {
            name: "tool-named-repeat",
            edit: |s| format!("{s}\n[[tools]]\nname = \"repeat\"\nrisk = \"signal\"\ndescription = \"Reserved.\"\n"),
            line_text: "name = \"repeat\"",
            says: "reserved word",
        },
    ]
}

#[test]
fn broken_boards_are_refused_at_the_right_line() {
    let reference = std::fs::read_to_string(root().join("boards/sim-rover.toml")).expect("reference board");
    let dir = tempfile::tempdir().expect("temp dir");
    for b in broken_boards() {
        let text = (b.edit)(&reference);
        let path = dir.path().join(format!("{}.toml", b.name));
        std::fs::write(&path, &text).expect("write board");
        // The error must point at the one line of the board that reads `line_text`.
        let want = text
            .lines()
            .position(|l| l == b.line_text)
            .unwrap_or_else(|| panic!("{}: no line `{}` in the board", b.name, b.line_text))
            + 1;
        assert_eq!(
            text.lines().filter(|l| *l == b.line_text).count(),
            1,
            "{}: `{}` is not unique",
            b.name,
            b.line_text
        );
        let o = robot(&["check-board", path.to_str().expect("temp paths are UTF-8")]);
        assert_no_panic(&o);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{}: not refused; stdout {} stderr {err}", b.name, stdout(&o));
        let prefix = format!("{}:{want}:", path.display());
        assert!(err.starts_with(&prefix), "{}: expected `{prefix}<col>: ...`, got: {err}", b.name);
        let col = err[prefix.len()..].split(':').next().unwrap_or("");
        assert!(col.parse::<usize>().is_ok_and(|c| c >= 1), "{}: no column in {err}", b.name);
        assert!(err.contains(b.says), "{}: message lacks `{}`: {err}", b.name, b.says);
    }
}

#[test]
fn a_missing_board_file_cannot_be_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-board.toml");
    let o = robot(&["check-board", path.to_str().expect("temp paths are UTF-8")]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("no-such-board.toml") && err.contains("cannot read"), "{err}");
}

#[test]
fn tools_lists_the_seventeen_tools_of_the_sim_rover() {
    let o = robot(&["tools"]);
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let names: Vec<&str> = out.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(names.len(), 17, "{out}");
    for t in ["drive", "turn", "go_to", "pick_up", "take_photo", "remember_place"] {
        assert!(names.contains(&t), "`{t}` missing from:\n{out}");
    }
    let drive = out.lines().find(|l| l.starts_with("drive ")).unwrap_or_default();
    assert!(drive.contains("motion") && drive.contains("distance_m"), "{drive}");
}
