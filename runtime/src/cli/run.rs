//! `robot run`: run one program on the real robot a board file describes
//! (backends `serial`: a motor/sensor co-processor; `raspberry-pi` and
//! `linux-gpio`: devices on the board's own GPIO header). Same policy,
//! executor, latch and flight recorder as the simulator, on the wall clock.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use robot_hal::board::{Backend, Level};
use robot_hal::capability::{Clock, MonotonicClock};
use robot_hal::program;
use robot_hal::serial::SerialLink;
use robot_runtime::backends::{gpio, serial};
use robot_runtime::executor::{Executor, RunStatus};
use robot_runtime::policy::Source;
use robot_runtime::recorder::Event;
use robot_runtime::safety::{Latch, LineMonitor};

#[derive(clap::Args)]
pub struct RunArgs {
    /// Board file of the robot (its backend must not be `sim`; use `robot exec` for the simulator).
    #[arg(long)]
    pub board: PathBuf,
    #[arg(long)]
    pub level: Option<Level>,
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
    /// Flight log to append to (JSON lines).
    #[arg(long)]
    pub log: Option<PathBuf>,
    pub program: String,
}

pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let board = super::load_board(&a.board)?;
    let parsed = program::parse(&a.program)
        .map_err(|e| anyhow::anyhow!("cannot parse the program:\n{}", e.render(&a.program)))?;
    let bound = match board.board.backend {
        Backend::Sim => {
            bail!("board `{}` is simulated: use `robot exec --board {}`", board.board.name, a.board.display())
        }
        Backend::Serial => {
            let cfg = board.serial.as_ref().context("backend \"serial\" needs a [serial] section")?;
            let link =
                SerialLink::open(cfg).with_context(|| format!("cannot open the co-processor on {}", cfg.port))?;
            serial::bind(&board, &link)
        }
        Backend::RaspberryPi => gpio::bind_rpi(&board)
            .with_context(|| format!("cannot open the Raspberry Pi board `{}`", board.board.name))?,
        Backend::LinuxGpio => gpio::bind_linux_gpio(&board)
            .with_context(|| format!("cannot open the GPIO board `{}`", board.board.name))?,
    };
    let latch = Latch::new(bound.safe_stops, Duration::from_millis(board.kill_switch.debounce_ms));
    let _monitor =
        LineMonitor::spawn(bound.estop_line, board.kill_switch.active_low, latch.clone(), Duration::from_millis(5))?;
    let recorder = super::open_recorder(a.log.as_deref())?;
    let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
    let mut ex = Executor::new(board, bound.devices, clock, latch, recorder);
    if let Some(level) = a.level {
        ex.policy.set_level_by_operator(level)?;
    }
    ex.record(Event::Input { source: "operator".into(), text: a.program.clone() });
    let mut confirmer = super::confirmer(a.yes);
    let report = ex.run(&parsed, Source::Operator, confirmer.as_mut());
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        super::exec::print_report(&report);
    }
    Ok(if report.status == RunStatus::Done { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
