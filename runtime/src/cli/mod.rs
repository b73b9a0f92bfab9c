//! The subcommands of `robot`, one file each, and what they share.

pub mod check;
pub mod eval;
pub mod exec;
pub mod host;
pub mod memory;
pub mod plan;
pub mod replay;
pub mod run;
pub mod sim;

use std::path::{Path, PathBuf};

use anyhow::Context;
use robot_hal::board::BoardFile;
use robot_runtime::executor::{Confirmer, NoOperator, TerminalConfirmer, YesToAll};
use robot_runtime::recorder::Recorder;

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

/// The flight log: a file when asked for, else kept in memory.
pub fn open_recorder(log: Option<&Path>) -> anyhow::Result<Recorder> {
    match log {
        Some(p) => Recorder::create(p).with_context(|| format!("cannot open flight log {}", p.display())),
        None => Ok(Recorder::memory()),
    }
}

/// Who answers confirmations: everyone said yes in advance (`--yes`), the
/// terminal, or nobody (no terminal: steps that need a yes are not run).
pub fn confirmer(yes: bool) -> Box<dyn Confirmer> {
    if yes {
        return Box::new(YesToAll);
    }
    match TerminalConfirmer::new() {
        Some(t) => Box::new(t),
        None => Box::new(NoOperator),
    }
}
