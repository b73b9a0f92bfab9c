//! Shared by the runtime's integration tests that start processes.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A command for a binary built by this workspace. Binaries cross-built for
/// aarch64 and run under user-mode emulation (tests/aarch64.sh) cannot be
/// exec'd by the host kernel without binfmt_misc, so the script passes the
/// emulator's command line (`qemu-aarch64-static -L <sysroot> -cpu <model>`)
/// in `ROBOT_TEST_RUNNER`, and it goes in front of the binary here.
pub fn command(bin: impl AsRef<OsStr>) -> Command {
    let runner = std::env::var("ROBOT_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(emulator) => {
            let mut cmd = Command::new(emulator);
            cmd.args(words).arg(bin.as_ref());
            cmd
        }
        None => Command::new(bin),
    }
}

// Each test crate compiles this module and uses only some of it.

/// The workspace root (the binary's working directory in these tests).
#[allow(dead_code)]
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `robot ARGS` from the workspace root, stdin closed.
#[allow(dead_code)]
pub fn robot(args: &[&str]) -> Output {
    command(env!("CARGO_BIN_EXE_robot"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("the robot binary runs")
}

/// Output bytes as text.
#[allow(dead_code)]
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
