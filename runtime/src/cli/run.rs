//! `robot run`: the runtime on the robot a board file describes (backends
//! `serial`: a motor/sensor co-processor; `raspberry-pi` and `linux-gpio`:
//! devices on the board's own GPIO header; `sim`: the desktop simulator, for
//! rehearsing the service). Same policy, executor, latch and flight recorder
//! as `robot exec`, on the wall clock.
//!
//! With a program it runs that program once and exits. Without one it is the
//! on-board service (`packaging/robot.service`): it initialises the board,
//! tells systemd it is ready, and runs a control loop that supervises the
//! worker executing what arrives on stdin (one program, or with the brain one
//! utterance, per line), reports kill-switch changes, and pings systemd's
//! watchdog while it is healthy (`robot_runtime::service`). SIGTERM/SIGINT
//! make every actuator safe through the latch and end the service.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use robot_hal::board::{Backend, BoardFile, Level};
use robot_hal::capability::{Clock, MonotonicClock};
use robot_hal::program::{self, Program};
use robot_hal::serial::SerialLink;
use robot_models::brain::{Brain, BrainError, PlanResult, PlanStatus};
use robot_runtime::assets::INSTALLED_BOARD;
use robot_runtime::backends::{gpio, serial};
use robot_runtime::executor::{Confirmer, Executor, NoOperator, RunReport, RunStatus, YesToAll};
use robot_runtime::policy::Source;
use robot_runtime::recorder::{Event, Recorder};
use robot_runtime::safety::{Cause, Latch, LineMonitor};
use robot_runtime::service::{Notifier, Watchdog, WorkerLiveness};
use robot_runtime::session::{SessionSpec, SimSession};

/// How long shutdown waits for a running program to notice the latch.
const WORKER_STOP_WAIT: Duration = Duration::from_secs(2);

#[derive(clap::Args)]
pub struct RunArgs {
    /// Board file of the robot (default: /etc/robot/board.toml, the board the package installed).
    #[arg(long)]
    pub board: Option<PathBuf>,
    #[arg(long)]
    pub level: Option<Level>,
    /// Confirm every step in advance (as a service nobody is at a terminal
    /// to answer; without --yes steps that need a yes are not run).
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
    /// Flight log to append to (JSON lines).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Service: load the brain, so lines of words on stdin are planned
    /// (found in $ROBOT_MODELS, ./models, /usr/share/robot/models).
    #[arg(long)]
    pub with_brain: bool,
    /// Service: brain folder (implies --with-brain).
    #[arg(long)]
    pub brain: Option<PathBuf>,
    /// Service: control-loop period in milliseconds (shortened to fit the watchdog).
    #[arg(long, default_value_t = 100)]
    pub tick_ms: u64,
    /// The program to run once. Without it `robot run` is the on-board service.
    pub program: Option<String>,
}

/// The bound robot: the simulator's session, or real devices with their line monitor.
pub(super) enum Robot {
    Sim(Box<SimSession>),
    Real { executor: Box<Executor>, _monitor: LineMonitor },
}

impl Robot {
    /// Opens the board's devices (or the simulator) and starts watching its kill-switch line.
    pub(super) fn bind(board: BoardFile, board_path: &Path, recorder: Recorder, yes: bool) -> anyhow::Result<Robot> {
        let bound = match board.board.backend {
            Backend::Sim => {
                let spec = SessionSpec {
                    board_path: board_path.display().to_string(),
                    seed: board.sim.as_ref().map(|s| s.seed).unwrap_or(0),
                    level: None,
                    yes,
                    estop_at_s: None,
                };
                return Ok(Robot::Sim(Box::new(SimSession::start(board, &spec, recorder)?)));
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
        let monitor = LineMonitor::spawn(
            bound.estop_line,
            board.kill_switch.active_low,
            latch.clone(),
            Duration::from_millis(5),
        )?;
        let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
        let executor = Executor::new(board, bound.devices, clock, latch, recorder);
        Ok(Robot::Real { executor: Box::new(executor), _monitor: monitor })
    }

    pub(super) fn executor(&mut self) -> &mut Executor {
        match self {
            Robot::Sim(s) => &mut s.executor,
            Robot::Real { executor, .. } => executor,
        }
    }

    /// Run an operator's program; the simulator also reports its ground truth.
    fn run_operator(&mut self, text: &str, p: &Program, confirmer: &mut dyn Confirmer) -> RunReport {
        match self {
            Robot::Sim(s) => s.run(text, p, confirmer),
            Robot::Real { executor, .. } => {
                executor.record(Event::Input { source: "operator".into(), text: text.to_string(), confidence: None });
                executor.run(p, Source::Operator, confirmer)
            }
        }
    }

    /// Runs the brain's program; the simulator also reports its ground truth.
    pub(super) fn run_brain(&mut self, program: &Program, confidence: f64, confirmer: &mut dyn Confirmer) -> RunReport {
        match self {
            Robot::Sim(s) => s.run_brain(program, confidence, confirmer),
            Robot::Real { executor, .. } => executor.run_brain(program, confidence, confirmer),
        }
    }

    /// On Ctrl-C: every actuator commanded safe through the latch.
    pub(super) fn make_safe(&mut self) {
        if let Robot::Real { executor, .. } = self {
            executor.latch.engage(Cause::Software);
        }
    }
}

pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let board_path = a.board.clone().unwrap_or_else(|| PathBuf::from(INSTALLED_BOARD));
    if a.board.is_none() && !board_path.exists() {
        bail!(
            "no board file: pass --board FILE, or install the robot package, which links the board it chose to {INSTALLED_BOARD}"
        );
    }
    let board = super::load_board(&board_path)?;
    // Parse before touching hardware: a typo must not move anything.
    let parsed = match &a.program {
        Some(text) => {
            Some(program::parse(text).map_err(|e| anyhow::anyhow!("cannot parse the program:\n{}", e.render(text)))?)
        }
        None => None,
    };
    let name = board.board.name.clone();
    let backend = board.board.backend;
    let mut robot = bind(board, &board_path, &a)?;
    if let Some(level) = a.level {
        robot.executor().policy.set_level_by_operator(level)?;
    }
    match (parsed, &a.program) {
        (Some(p), Some(text)) => {
            let mut confirmer = super::confirmer(a.yes);
            let report = robot.run_operator(text, &p, confirmer.as_mut());
            print_report(&report, a.json)?;
            Ok(if report.status == RunStatus::Done { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        _ => {
            let brain = match (&a.brain, a.with_brain) {
                (None, false) => None,
                (dir, _) => {
                    let board = &robot.executor().board;
                    Some(super::plan::load_brain(board, dir.as_deref())?)
                }
            };
            serve(robot, brain, &a, &format!("board `{name}` ({backend:?} backend)"))
        }
    }
}

fn print_report(report: &RunReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        super::exec::print_report(report);
    }
    Ok(())
}

/// Opens the board's devices and starts watching its kill-switch line.
fn bind(board: BoardFile, board_path: &Path, a: &RunArgs) -> anyhow::Result<Robot> {
    let recorder = super::open_recorder(a.log.as_deref())?;
    Robot::bind(board, board_path, recorder, a.yes)
}

/// The service: worker, control loop, watchdog, orderly stop.
fn serve(mut robot: Robot, brain: Option<Brain>, a: &RunArgs, what: &str) -> anyhow::Result<ExitCode> {
    let notifier = Notifier::from_env();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("cannot handle SIGTERM/SIGINT")?;
    }
    let latch = robot.executor().latch.clone();
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    // The reader is never joined: it may sit in a read on a terminal, and
    // the process ends with the control loop.
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the stdin reader")?;
    let worker_stop = stop.clone();
    let liveness = Arc::new(WorkerLiveness::new(Instant::now()));
    let worker_liveness = liveness.clone();
    let (yes, json, has_brain) = (a.yes, a.json, brain.is_some());
    let worker = std::thread::Builder::new()
        .name("worker".into())
        .spawn(move || work(&mut robot, brain, &lines_rx, &worker_stop, &worker_liveness, yes, json))
        .context("cannot start the worker")?;

    let mut watchdog = notifier.watchdog_timeout().map(Watchdog::new);
    let mut tick = Duration::from_millis(a.tick_ms.max(1));
    if let Some(w) = &watchdog {
        tick = tick.min(w.interval() / 2);
    }
    let ready = format!(
        "{what} ready; kill switch {}; {}",
        if latch.is_engaged() { "ENGAGED" } else { "released" },
        if has_brain { "brain loaded" } else { "programs only" }
    );
    eprintln!("robot: {ready}");
    report_io(notifier.ready(&ready));

    let mut engaged = latch.is_engaged();
    let mut code = ExitCode::SUCCESS;
    let mut hung = false;
    while !stop.load(Ordering::Relaxed) {
        // The worker ends only when told to stop; finished early, it panicked.
        if worker.is_finished() {
            let msg = "the worker thread died; actuators made safe, exiting for systemd to restart";
            eprintln!("robot: {msg}");
            latch.engage(Cause::Software);
            report_io(notifier.status(msg));
            code = ExitCode::from(1);
            break;
        }
        // Alive but stuck (a device call that never returns): make the
        // actuators safe through the latch, which needs no worker, and stop
        // the pings so systemd restarts the service.
        let stall = liveness.check(Instant::now());
        let healthy = stall.is_ok();
        if let Err(why) = stall {
            if !hung {
                hung = true;
                let msg = format!("{why}; actuators made safe, watchdog pings stopped");
                eprintln!("robot: {msg}");
                latch.engage(Cause::Software);
                report_io(notifier.status(&msg));
            }
        } else if hung {
            hung = false;
            eprintln!("robot: the worker is responsive again; an operator reset is needed");
        }
        if latch.is_engaged() != engaged {
            engaged = !engaged;
            let msg = match latch.cause() {
                Some(cause) if engaged => {
                    format!("kill switch ENGAGED ({}): actuators safe; an operator reset is needed", cause.as_str())
                }
                _ => "kill switch reset by the operator".to_string(),
            };
            eprintln!("robot: {msg}");
            report_io(notifier.status(&msg));
        }
        if let Some(w) = watchdog.as_mut() {
            if w.should_ping(Instant::now(), healthy) {
                report_io(notifier.watchdog());
            }
        }
        std::thread::sleep(tick);
    }
    let msg = "stopping: actuators made safe";
    report_io(notifier.stopping(msg));
    eprintln!("robot: {msg}");
    // Engaging the latch commands every actuator safe and makes a running
    // program stop at its next step.
    stop.store(true, Ordering::Relaxed);
    latch.engage(Cause::Software);
    wait_for(&worker, WORKER_STOP_WAIT);
    Ok(code)
}

/// The longest the brain may take to plan one utterance before the worker
/// is judged hung (it takes well under a second on a Pi 4).
const PLAN_BOUND: Duration = Duration::from_secs(30);

fn plan_within(brain: &mut Brain, text: &str, liveness: &WorkerLiveness) -> Result<PlanResult, BrainError> {
    liveness.busy(Instant::now(), PLAN_BOUND);
    brain.plan(text)
}

/// Runs what arrives on stdin until told to stop.
fn work(
    robot: &mut Robot,
    mut brain: Option<Brain>,
    lines: &mpsc::Receiver<String>,
    stop: &AtomicBool,
    liveness: &WorkerLiveness,
    yes: bool,
    json: bool,
) {
    // Nobody at a terminal: stdin carries the commands, not the answers.
    let mut confirmer: Box<dyn Confirmer> = if yes { Box::new(YesToAll) } else { Box::new(NoOperator) };
    while !stop.load(Ordering::Relaxed) {
        liveness.idle(Instant::now());
        let line = match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => continue,
            // stdin closed (always so under systemd): keep holding the robot.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let report = match (program::parse(text), brain.as_mut()) {
            (Ok(p), _) => {
                liveness.busy(Instant::now(), robot.executor().time_bound(&p));
                robot.run_operator(text, &p, confirmer.as_mut())
            }
            (Err(_), Some(b)) if !text.contains('(') => match plan_within(b, text, liveness) {
                Ok(plan) => match (plan.status, plan.program) {
                    (PlanStatus::Ok, Some(p)) => {
                        let ex = robot.executor();
                        liveness.busy(Instant::now(), ex.time_bound(&p));
                        ex.run_brain(&p, plan.confidence, confirmer.as_mut())
                    }
                    _ => {
                        eprintln!("robot: `{text}`: {}", plan.reason.as_deref().unwrap_or("unsupported"));
                        continue;
                    }
                },
                Err(e) => {
                    eprintln!("robot: the brain failed on `{text}`: {e}");
                    continue;
                }
            },
            (Err(e), _) => {
                eprintln!("robot: cannot parse the program:\n{}", e.render(text));
                continue;
            }
        };
        if let Err(e) = print_report(&report, json) {
            eprintln!("robot: cannot print the report: {e}");
        }
    }
}

fn wait_for(worker: &JoinHandle<()>, limit: Duration) {
    let started = Instant::now();
    while !worker.is_finished() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A lost notification is logged, never fatal: the robot is more important
/// than the service manager's view of it.
fn report_io(r: std::io::Result<()>) {
    if let Err(e) = r {
        eprintln!("robot: cannot notify systemd: {e}");
    }
}
