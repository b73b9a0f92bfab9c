//! `robot run` on the GPIO boards from a machine that is not the board:
//! the run must end with the backend's clear error and a non-zero status,
//! never a panic, and before anything could move.

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
