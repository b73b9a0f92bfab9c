//! The GPIO boards from a machine that is not the board.
//!
//! `robot run` must end with the backend's clear error and a non-zero
//! status, never a panic, and before anything could move. And the shared
//! GPIO devices (drive on fake lines, wheel-encoder counting, odometry)
//! must let the executor run `drive`, `turn` and `dock` closed loop: a
//! simulated rover turns the fake PWM and direction lines into wheel
//! travel and quadrature edges, which is all the odometry ever sees.

mod encoder_rover;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The binary, under the emulator `tests/aarch64.sh` names in `ROBOT_TEST_RUNNER` when cross-built.
fn robot(args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_robot");
    let runner = std::env::var("ROBOT_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut cmd = match words.next() {
        Some(emulator) => {
            let mut c = Command::new(emulator);
            c.args(words).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(args).current_dir(root()).stdin(Stdio::null()).output().expect("the robot binary runs")
}

/// Whether this machine is a Raspberry Pi (then the not-a-Pi test has nothing to show).
fn on_a_pi() -> bool {
    std::fs::read_to_string("/proc/device-tree/model").is_ok_and(|m| m.contains("Raspberry Pi"))
}

#[test]
fn run_on_a_pi_board_elsewhere_says_not_a_raspberry_pi() {
    if on_a_pi() {
        eprintln!("skipped: this machine is a Raspberry Pi");
        return;
    }
    for board in ["boards/rpi4-rover.toml", "boards/rpi5-rover.toml"] {
        let o = robot(&["run", "--board", board, "--yes", "stop()"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{board}: exit status {:?}", o.status);
        assert!(err.contains("not a Raspberry Pi: "), "{board}: {err}");
        assert!(!err.contains("panicked"), "{board}: {err}");
    }
}

#[test]
fn run_on_a_missing_gpio_chip_names_the_chip() {
    let board = std::fs::read_to_string(root().join("boards/jetson-orin-nano-rover.toml")).expect("readable");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jetson.toml");
    let missing = "/dev/gpiochip-robot-test-missing";
    std::fs::write(&path, board.replace("\"/dev/gpiochip0\"", &format!("\"{missing}\""))).expect("writable");
    let o = robot(&["run", "--board", path.to_str().expect("UTF-8 temp path"), "--yes", "stop()"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains(&format!("cannot open GPIO chip {missing}")), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn gpio_boards_pass_check_board() {
    for board in ["boards/rpi4-rover.toml", "boards/rpi5-rover.toml", "boards/jetson-orin-nano-rover.toml"] {
        let o = robot(&["check-board", board]);
        assert!(o.status.success(), "{board}: {}", String::from_utf8_lossy(&o.stderr));
    }
}

fn rpi4_board() -> robot_hal::board::BoardFile {
    robot_hal::board::BoardFile::load(root().join("boards/rpi4-rover.toml")).expect("rpi4-rover.toml is valid")
}

/// Run `program` on the simulated rpi4 rover; returns the report and the rover.
fn run_on_rover(program: &str, with_odometry: bool) -> (robot_runtime::executor::RunReport, encoder_rover::Rover) {
    use robot_runtime::executor::{Executor, YesToAll};
    use robot_runtime::policy::Source;
    use robot_runtime::recorder::Recorder;
    use robot_runtime::safety::Latch;

    let board = rpi4_board();
    let mut rover = encoder_rover::rover(&board, with_odometry);
    let latch = Latch::new(vec![rover.safe_stop.clone()], std::time::Duration::from_millis(50));
    let devices = std::mem::take(&mut rover.devices);
    let mut ex = Executor::new(board, devices, rover.clock.clone(), latch, Recorder::memory());
    let program = robot_hal::program::parse(program).expect("the program parses");
    let report = ex.run(&program, Source::Operator, &mut YesToAll);
    (report, rover)
}

#[test]
fn driving_one_metre_counts_the_encoder_ticks_and_verifies() {
    use robot_runtime::executor::{RunStatus, StepStatus};

    let (report, rover) = run_on_rover("drive(distance_m=1)", true);
    assert_eq!(report.status, RunStatus::Done, "{report:?}");
    let step = &report.steps[0];
    assert_eq!(step.status, StepStatus::Done, "{step:?}");
    // 374 pulses per wheel turn, ×4 quadrature, 65 mm wheels: 1 m is about 7326 counts per wheel.
    let per_metre = rover.geometry.counts_for(1.0);
    assert!((per_metre - 7326.0).abs() < 1.0, "{per_metre}");
    let [l, r] = rover.encoders.counts();
    let tol = rover.geometry.counts_for(0.05);
    for (wheel, n) in [("left", l), ("right", r)] {
        assert!((n as f64 - per_metre).abs() <= tol, "{wheel} wheel counted {n}, expected about {per_metre:.0}");
    }
    let covered = step.observed["distance_m"].as_f64().expect("distance observed");
    assert!((covered - 1.0).abs() <= 0.05, "{covered}");
    // The weaker right motor was corrected for: the rover kept its heading.
    let drift = step.observed["heading_drift_deg"].as_f64().expect("drift observed");
    assert!(drift.abs() < 4.0, "heading drifted {drift} degrees");
}

#[test]
fn turn_and_dock_run_closed_loop_on_encoder_odometry() {
    use robot_runtime::executor::{RunStatus, StepStatus};

    let (report, _rover) =
        run_on_rover("drive(distance_m=0.8); turn(angle_deg=90); drive(distance_m=0.5); dock()", true);
    assert_eq!(report.status, RunStatus::Done, "{report:?}");
    assert!(report.steps.iter().all(|s| s.status == StepStatus::Done), "{:?}", report.steps);
    let turned = report.steps[1].observed["angle_deg"].as_f64().expect("angle observed");
    assert!((turned - 90.0).abs() <= 4.0, "{turned}");
    let end = report.final_pose.expect("a final pose");
    assert!(end.x.hypot(end.y) <= 0.25, "not back at the dock: {end:?}");
}

#[test]
fn without_encoders_drive_says_the_board_has_no_odometry() {
    use robot_runtime::executor::RunStatus;

    let (report, rover) = run_on_rover("drive(distance_m=1)", false);
    assert_ne!(report.status, RunStatus::Done);
    let text = format!("{} {:?}", report.reason, report.steps);
    assert!(text.contains("this board has no odometry"), "{text}");
    assert_eq!(rover.encoders.counts(), [0, 0], "nothing moved");
}
