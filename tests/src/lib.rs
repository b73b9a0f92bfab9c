//! Helpers shared by the cross-crate integration tests in `tests/tests/`:
//! start the runtime on the simulated rover with the repository's board.

use std::path::PathBuf;

use robot_hal::board::{BoardFile, Level};
use robot_hal::program;
use robot_runtime::executor::{Confirmer, RunReport, YesToAll};
use robot_runtime::recorder::Recorder;
use robot_runtime::session::{SessionSpec, SimSession};

pub fn board_path() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml"))
}

pub fn board() -> BoardFile {
    BoardFile::load(board_path()).expect("the sim-rover board loads")
}

/// A simulated rover at `level`, seed 1, flight log in memory.
pub fn session(level: Level) -> SimSession {
    session_with(level, 1, None, Recorder::memory())
}

/// A simulated rover on a modified board.
pub fn session_on(board: BoardFile, level: Level) -> SimSession {
    let spec = SessionSpec {
        board_path: board_path().display().to_string(),
        seed: 1,
        level: Some(level),
        yes: true,
        estop_at_s: None,
    };
    SimSession::start(board, &spec, Recorder::memory()).expect("session starts")
}

pub fn session_with(level: Level, seed: u64, estop_at_s: Option<f64>, recorder: Recorder) -> SimSession {
    let spec =
        SessionSpec { board_path: board_path().display().to_string(), seed, level: Some(level), yes: true, estop_at_s };
    SimSession::start(board(), &spec, recorder).expect("session starts")
}

/// Parse and run a program with the given confirmer.
pub fn run_with(s: &mut SimSession, text: &str, confirmer: &mut dyn Confirmer) -> RunReport {
    let p = program::parse(text).expect("test programs parse");
    s.run(text, &p, confirmer)
}

/// Parse and run a program, confirming everything.
pub fn run(s: &mut SimSession, text: &str) -> RunReport {
    run_with(s, text, &mut YesToAll)
}
