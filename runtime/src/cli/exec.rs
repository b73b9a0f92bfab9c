//! `robot exec`: run one program in the simulator.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use robot_hal::board::Level;
use robot_hal::program;
use robot_runtime::executor::{RunReport, RunStatus};
use robot_runtime::session::{SessionSpec, SimSession};

#[derive(clap::Args)]
pub struct ExecArgs {
    /// Board file (default: boards/sim-rover.toml).
    #[arg(long)]
    pub board: Option<PathBuf>,
    /// Autonomy level to run at (raised by you, the operator; capped by the board).
    #[arg(long)]
    pub level: Option<Level>,
    /// Confirm every step and plan in advance.
    #[arg(long)]
    pub yes: bool,
    /// Print one JSON report on the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Simulator seed (default: the board's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Engage the simulated kill-switch line at this simulated time (seconds).
    #[arg(long)]
    pub estop_at: Option<f64>,
    /// Flight log to write (JSON lines).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Write the map with the rover's path (SVG).
    #[arg(long)]
    pub map: Option<PathBuf>,
    /// The program, e.g. "drive(distance_m=2); turn(angle_deg=-90)".
    pub program: String,
}

pub fn run(a: ExecArgs) -> anyhow::Result<ExitCode> {
    let board_path = a.board.clone().unwrap_or_else(super::default_board);
    let board = super::load_board(&board_path)?;
    if board.board.backend != robot_hal::board::Backend::Sim {
        anyhow::bail!(
            "board `{}` drives real hardware ({:?} backend): use `robot run --board {}` (robot exec runs the simulator)",
            board.board.name,
            board.board.backend,
            board_path.display()
        );
    }
    let seed = a.seed.or(board.sim.as_ref().map(|s| s.seed)).unwrap_or(0);
    let recorder = super::open_recorder(a.log.as_deref())?;
    let spec = SessionSpec {
        board_path: board_path.display().to_string(),
        seed,
        level: a.level,
        yes: a.yes,
        estop_at_s: a.estop_at,
    };
    let mut session = SimSession::start(board, &spec, recorder)?;
    let parsed = match program::parse(&a.program) {
        Ok(p) => p,
        Err(e) => {
            // A malformed program is a rejected run, reported like any other.
            let reason = format!("cannot parse the program: {e}");
            if a.json {
                let report = serde_json::json!({"status": "rejected", "reason": reason, "steps": [],
                    "final_pose": session.sim.truth(), "estop_latency_us": null});
                eprintln!("{}", e.render(&a.program));
                println!("{report}");
            } else {
                eprintln!("{}", e.render(&a.program));
            }
            return Ok(ExitCode::from(1));
        }
    };
    let mut confirmer = super::confirmer(a.yes);
    let report = session.run(&a.program, &parsed, confirmer.as_mut());
    if let Some(m) = &a.map {
        std::fs::write(m, session.sim.render_svg()).with_context(|| format!("cannot write {}", m.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.status == RunStatus::Done { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The human-readable form of a report.
pub fn print_report(report: &RunReport) {
    for (i, s) in report.steps.iter().enumerate() {
        println!("{:>3}. {:<8} {} {} -> {}", i + 1, s.status.as_str(), s.tool, s.args, s.observed);
    }
    println!("{}: {}", report.status.as_str(), report.reason);
    if let Some(p) = report.final_pose {
        println!("final pose: x={:.3} y={:.3} heading={:.1}", p.x, p.y, p.heading_deg);
    }
    if let Some(us) = report.estop_latency_us {
        println!("kill-switch latency: {us} us");
    }
}
