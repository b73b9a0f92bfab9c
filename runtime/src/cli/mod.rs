//! The subcommands of `robot`, one file each, and what they share.

pub mod check;
pub mod eval;
pub mod eval_voice;
pub mod exec;
pub mod host;
pub mod listen;
pub mod memory;
pub mod memory_search;
mod mic_command;
pub mod plan;
pub mod replay;
pub mod run;
pub mod sim;
pub mod stt;

use std::path::{Path, PathBuf};

use anyhow::Context;
use robot_hal::board::BoardFile;
use robot_runtime::executor::{Confirmer, NoOperator, TerminalConfirmer, YesToAll};
use robot_runtime::recorder::Recorder;

pub fn load_board(path: &Path) -> anyhow::Result<BoardFile> {
    BoardFile::load(path).map_err(anyhow::Error::new).with_context(|| "invalid board file".to_string())
}

/// The default board: `boards/sim-rover.toml` in the working directory, an
/// install (`/usr/share/robot/boards`) or the repository the binary was
/// built in (search order in `robot_runtime::assets`).
pub fn default_board() -> PathBuf {
    robot_runtime::assets::board_file("sim-rover.toml")
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
