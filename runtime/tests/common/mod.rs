//! Shared by the runtime's integration tests that start processes.

use std::ffi::OsStr;
use std::process::Command;

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
