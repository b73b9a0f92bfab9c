//! A runtime bound to the desktop simulator: the sim's devices, its clock,
//! its kill-switch line watched by the real line monitor, and an executor.
//! Used by `robot exec`, `robot sim`, `robot replay` and the integration
//! tests, so all of them run exactly the same code as a robot would.

mod commands;
mod replay;

pub use commands::{apply_command, HELP};
pub use replay::{replay, ReplayOutcome};

use std::sync::Arc;
use std::time::Duration;

use robot_hal::board::{BoardFile, Level};
use robot_hal::capability::erased::Erased;
use robot_hal::capability::Clock;
use robot_hal::program::Program;
use robot_sim::Sim;

use crate::devices::Devices;
use crate::executor::{Confirmer, Executor, RunReport};
use crate::memory::MemoryStore;
use crate::policy::Source;
use crate::recorder::{Event, Recorder};
use crate::safety::{Latch, LineMonitor};

/// How often the line monitor re-reads the line when no edge woke it.
pub const LINE_POLL: Duration = Duration::from_millis(5);

pub struct SimSession {
    pub sim: Sim,
    pub executor: Executor,
    _monitor: LineMonitor,
}

/// Settings recorded at the start of a session so it can be replayed.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub board_path: String,
    pub seed: u64,
    pub level: Option<Level>,
    pub yes: bool,
    pub estop_at_s: Option<f64>,
}

impl SimSession {
    /// Build the simulated robot for a board and start its line monitor.
    pub fn start(board: BoardFile, spec: &SessionSpec, recorder: Recorder) -> anyhow::Result<SimSession> {
        let sim = Sim::with_seed(&board, spec.seed)?;
        let d = sim.devices();
        let devices = Devices {
            drive: Some(Box::new(Erased(d.drive))),
            odometry: Some(Box::new(Erased(d.odometry))),
            range: Some(Box::new(Erased(d.range))),
            battery: Some(Box::new(Erased(d.battery))),
            thermometer: Some(Box::new(Erased(d.thermometer))),
            led: Some(Box::new(Erased(d.led))),
            speaker: Some(Box::new(Erased(d.speaker))),
            gripper: Some(Box::new(Erased(d.gripper))),
            camera: Some(Box::new(Erased(d.camera))),
            detector: Some(Box::new(Erased(d.detector))),
        };
        let latch = Latch::new(sim.safe_stops(), Duration::from_millis(board.kill_switch.debounce_ms));
        let monitor =
            LineMonitor::spawn(Box::new(Erased(d.estop_line)), board.kill_switch.active_low, latch.clone(), LINE_POLL)?;
        let clock: Arc<dyn Clock> = Arc::new(sim.clock());
        let mut executor = Executor::new(board, devices, clock, latch, recorder);
        // Memory lives in an in-memory store by default, so a simulated
        // session starts from the board's places and replays exactly;
        // `robot sim --memory FILE` swaps in a file that persists.
        executor.attach_memory(MemoryStore::in_memory()?)?;
        if let Some(level) = spec.level {
            executor.policy.set_level_by_operator(level)?;
        }
        executor.record(Event::RunStart {
            board: spec.board_path.clone(),
            robot_id: executor.board.board.robot_id.clone(),
            seed: spec.seed,
            level: executor.policy.level().to_string(),
            yes: spec.yes,
            estop_at_s: spec.estop_at_s,
        });
        if let Some(at) = spec.estop_at_s {
            sim.schedule_estop(Duration::from_secs_f64(at.max(0.0)));
        }
        Ok(SimSession { sim, executor, _monitor: monitor })
    }

    /// [`Executor::run_brain`](crate::executor::Executor::run_brain), then
    /// fill in simulator truth.
    pub fn run_brain(&mut self, program: &Program, confidence: f64, confirmer: &mut dyn Confirmer) -> RunReport {
        let report = self.executor.run_brain(program, confidence, confirmer);
        self.with_truth(report)
    }

    /// Run a program written by the operator and fill in simulator truth.
    pub fn run(&mut self, text: &str, program: &Program, confirmer: &mut dyn Confirmer) -> RunReport {
        self.executor.record(Event::Input { source: "operator".into(), text: text.to_string(), confidence: None });
        let report = self.executor.run(program, Source::Operator, confirmer);
        self.with_truth(report)
    }

    fn with_truth(&self, mut report: RunReport) -> RunReport {
        report.final_pose = Some(self.sim.truth());
        report.estop_latency_us = match (self.sim.line_low_at(), self.executor.latch.all_safe_at()) {
            (Some(line), Some(safe)) => Some(safe.saturating_duration_since(line).as_micros() as u64),
            _ => None,
        };
        report
    }
}
