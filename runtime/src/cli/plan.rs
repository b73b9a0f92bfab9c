//! `robot plan "<text>"`: what the on-board brain makes of one utterance,
//! as the spec's JSON object (`--json`, see `shared/spec/rover-tools.md`) or
//! in a human form. Nothing runs; `robot sim` runs plans. Also holds how the
//! CLI finds and loads the brain, shared with `robot eval plan` and
//! `robot sim`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use robot_hal::board::BoardFile;
use robot_models::brain::{Brain, PlanResult, PlanStatus, Timing};

#[derive(clap::Args)]
pub struct PlanArgs {
    /// Board file whose tools the plan may use.
    #[arg(long)]
    pub board: Option<PathBuf>,
    /// Brain asset folder (default: models/brain).
    #[arg(long)]
    pub brain: Option<PathBuf>,
    /// Print the spec's JSON object.
    #[arg(long)]
    pub json: bool,
    /// Print load, encode and decode times to stderr.
    #[arg(long)]
    pub timing: bool,
    /// What to plan; several words are joined with spaces.
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
    pub text: Vec<String>,
}

/// The default brain folder: `$ROBOT_MODELS/brain`, `models/brain` in the
/// working directory, an install (`/usr/share/robot/models/brain`) or the
/// repository the binary was built in (search order in `robot_runtime::assets`).
pub fn default_brain() -> PathBuf {
    robot_runtime::assets::model_dir("brain")
}

/// Loads the brain for a board's tools.
pub fn load_brain(board: &BoardFile, dir: Option<&Path>) -> anyhow::Result<Brain> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(default_brain);
    Brain::load(&dir, &board.registry()).with_context(|| format!("cannot load the brain from {}", dir.display()))
}

/// The human form of a plan.
pub fn describe(r: &PlanResult) -> String {
    match r.status {
        PlanStatus::Ok => {
            let mut s = format!("plan: {}\nconfidence: {:.2}", r.program_text(), r.confidence);
            for (i, c) in r.steps().iter().enumerate() {
                s.push_str(&format!("\n{:>3}. {} {}", i + 1, c.tool, c.args_json()));
            }
            s
        }
        PlanStatus::Unsupported => format!(
            "unsupported: {} (confidence {:.2})",
            r.reason.as_deref().unwrap_or("none of this robot's tools does that"),
            r.confidence
        ),
    }
}

pub fn print_timing(load_ms: Option<f64>, t: &Timing) {
    let load = load_ms.map(|ms| format!("load {ms:.1} ms, ")).unwrap_or_default();
    eprintln!(
        "timing: {load}encode {:.1} ms, decode {:.1} ms ({} steps)",
        t.encode.as_secs_f64() * 1e3,
        t.decode.as_secs_f64() * 1e3,
        t.steps
    );
}

pub fn run(a: PlanArgs) -> anyhow::Result<ExitCode> {
    let board_path = a.board.clone().unwrap_or_else(super::default_board);
    let board = super::load_board(&board_path)?;
    let started = Instant::now();
    let mut brain = load_brain(&board, a.brain.as_deref())?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let text = a.text.join(" ");
    let (result, timing) = brain.plan_timed(&text).context("planning failed")?;
    if a.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!("{}", describe(&result));
    }
    if a.timing {
        print_timing(Some(load_ms), &timing);
    }
    Ok(ExitCode::SUCCESS)
}
