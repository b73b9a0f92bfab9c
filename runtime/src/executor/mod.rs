//! The executor: runs a program step by step and verifies every step.
//!
//! Before the first step the [`crate::policy`] decides (reject, ask once,
//! ask per step, or run). Each step runs its skill under a deadline on the
//! injected clock; the skill's [`crate::skills::Outcome`] is compared with
//! what the step meant, a mismatch is retried (as many times as the board's
//! `verify.retries`, aiming at the same goal), then the program stops and
//! the policy's anomaly response applies. A kill-switch engagement aborts
//! the step at the next control tick; the actuators were already made safe
//! by the latch itself. Everything goes to the flight recorder, and with a
//! memory store attached ([`Executor::attach_memory`]) each run is also kept
//! as an episode.

mod confirm;
mod episode;
mod report;
mod run;

pub use confirm::{Answer, Confirmer, NoOperator, ScriptedConfirmer, TerminalConfirmer, YesToAll};
pub use report::{RunReport, RunStatus, StepReport, StepStatus};
pub use run::Executor;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use robot_hal::board::BoardFile;
    use robot_hal::program;

    use crate::recorder::Recorder;
    use crate::session::{SessionSpec, SimSession};

    #[test]
    fn a_programs_time_bound_sums_each_steps_timeout_times_its_attempts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut board = BoardFile::load(root.join("boards/sim-rover.toml")).unwrap();
        board.verify.retries = 2;
        board.verify.step_timeout_s = 7.0;
        let spec = SessionSpec { board_path: "sim".into(), seed: 1, level: None, yes: true, estop_at_s: None };
        let s = SimSession::start(board, &spec, Recorder::memory()).unwrap();
        let bound = |text: &str| s.executor.time_bound(&program::parse(text).unwrap());
        let one = bound("drive(distance_m=1)");
        assert!(one >= Duration::from_secs(3), "three attempts of at least a second: {one:?}");
        assert_eq!(bound("repeat(3) { drive(distance_m=1) }"), one * 3);
        let other = bound("set_led(color=\"red\")");
        assert_eq!(bound("drive(distance_m=1); set_led(color=\"red\")"), one + other);
    }
}
