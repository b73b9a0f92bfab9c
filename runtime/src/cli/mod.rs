//! The subcommands of `robot`, one file each, and what they share.

pub mod check;
pub mod exec;
pub mod replay;
pub mod run;
pub mod sim;

use std::path::{Path, PathBuf};

use anyhow::Context;
use robot_hal::board::BoardFile;

/// The board used when none is given.
pub const DEFAULT_BOARD: &str = "boards/sim-rover.toml";

pub fn load_board(path: &Path) -> anyhow::Result<BoardFile> {
    BoardFile::load(path).map_err(anyhow::Error::new).with_context(|| "invalid board file".to_string())
}

/// The default board, found relative to the working directory or the
/// repository the binary was built in.
pub fn default_board() -> PathBuf {
    let here = PathBuf::from(DEFAULT_BOARD);
    if here.exists() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../", "boards/sim-rover.toml"))
}
