//! `robot sim`: an interactive prompt on the simulated rover.
//!
//! Type a program (`drive(distance_m=1); turn(angle_deg=90)`), a command
//! (`:help`) or plain words ("drive forward two meters then turn left"):
//! words are planned by the on-board brain, and the plan is shown with its
//! confidence and run as the brain's, so the policy asks before a
//! low-confidence plan runs. Without brain assets programs still work. After
//! every run the map with the rover's path is written to the output folder,
//! with photos and the flight log beside it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use robot_hal::board::Level;
use robot_hal::program;
use robot_models::brain::{Brain, PlanStatus};
use robot_runtime::executor::RunReport;
use robot_runtime::executor::TerminalConfirmer;
use robot_runtime::memory::MemoryStore;
use robot_runtime::recorder::Recorder;
use robot_runtime::session::{apply_command, SessionSpec, SimSession, HELP};

#[derive(clap::Args)]
pub struct SimArgs {
    #[arg(long)]
    pub board: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub level: Option<Level>,
    /// Folder for the map picture, photos and flight log.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Pace the simulation at real time (default: as fast as possible).
    #[arg(long)]
    pub realtime: bool,
    /// Keep the robot's memory (remembered places, objects seen, episodes)
    /// in this SQLite file across sessions (default: in memory only).
    #[arg(long)]
    pub memory: Option<PathBuf>,
    /// Sync memory with a fleet host over MQTT (docs/sync.md); `--mqtt`
    /// alone connects to `robot host`'s embedded broker on 127.0.0.1:1883.
    #[arg(long, num_args = 0..=1, default_missing_value = robot_runtime::sync::broker::DEFAULT_URL)]
    pub mqtt: Option<String>,
    /// The robot's remote kill-switch key (docs/remote-kill.md), with
    /// --mqtt: signed stop and release messages from the host act on the
    /// latch. Without it every kill-switch message is refused.
    #[arg(long, requires = "mqtt")]
    pub kill_key: Option<PathBuf>,
    /// Where the kill-switch replay state is kept across sessions (default:
    /// `<out>/kill-replay.json`).
    #[arg(long, requires = "kill_key")]
    pub kill_state: Option<PathBuf>,
    /// The operator is remote (with --mqtt): at L0 to L3 the robot stops
    /// when no signed operator heartbeat (`robot host --heartbeat`) has
    /// arrived for the board's `autonomy.operator_heartbeat_s` (2 s by
    /// default). Without it, the operator at this prompt counts as present.
    #[arg(long, requires = "mqtt")]
    pub operator_link: bool,
    /// Brain asset folder for natural language (default: models/brain).
    #[arg(long)]
    pub brain: Option<PathBuf>,
}

pub fn run(a: SimArgs) -> anyhow::Result<ExitCode> {
    let board_path = a.board.clone().unwrap_or_else(super::default_board);
    let board = super::load_board(&board_path)?;
    let mut brain = match super::plan::load_brain(&board, a.brain.as_deref()) {
        Ok(b) => Some(b),
        Err(e) => {
            println!("Natural language is unavailable ({e:#}); programs work.");
            None
        }
    };
    let seed = a.seed.or(board.sim.as_ref().map(|s| s.seed)).unwrap_or(0);
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let log = a.out.join("flight.jsonl");
    let _ = std::fs::remove_file(&log);
    let recorder = Recorder::create(&log).with_context(|| format!("cannot open {}", log.display()))?;
    let spec = SessionSpec {
        board_path: board_path.display().to_string(),
        seed,
        level: a.level,
        yes: false,
        estop_at_s: None,
    };
    let mut s = SimSession::start(board, &spec, recorder)?;
    if let Some(db) = &a.memory {
        let store = MemoryStore::open(db).with_context(|| format!("cannot open memory {}", db.display()))?;
        s.executor.attach_memory(store)?;
    }
    let kill = super::host::SimKill {
        key: a.kill_key.as_deref(),
        state: a.kill_state.as_deref(),
        operator_link: a.operator_link,
    };
    let sync = super::host::start_sim_sync(a.mqtt.as_deref(), a.memory.as_deref(), &kill, &a.out, &mut s)?;
    if a.realtime {
        s.sim.set_pacing(Some(1.0));
    }
    let map = a.out.join("map.svg");
    std::fs::write(&map, s.sim.render_svg())?;
    let mut input = TerminalConfirmer::from_stdin();
    println!(
        "Simulated rover `{}` at the dock, level {} (cap {}). Type a program, or :help.\nMap: {}  Flight log: {}",
        s.executor.board.board.name,
        s.executor.policy.level(),
        s.executor.policy.cap(),
        map.display(),
        log.display()
    );
    let mut photos_saved = 0;
    // The operator-link watchdog (`--operator-link`) engages the latch on
    // its own thread; the level it lowers belongs to this one, so it is
    // applied here, before and after every line.
    let check_operator = |s: &mut SimSession| {
        if let Some(msg) = sync.as_ref().and_then(|y| y.check_operator(s)) {
            println!("{msg}");
        }
    };
    loop {
        check_operator(&mut s);
        print!("robot> ");
        std::io::stdout().flush()?;
        let Some(line) = input.read_line(None) else { break };
        check_operator(&mut s);
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(cmd) = text.strip_prefix(':') {
            if matches!(cmd.trim(), "q" | "quit" | "exit") {
                break;
            }
            if cmd.trim() == "help" {
                println!("{HELP}");
                continue;
            }
            match apply_command(&mut s, cmd) {
                Ok(msg) => println!("{msg}"),
                Err(e) => println!("error: {e:#}"),
            }
            continue;
        }
        let report = match program::parse(text) {
            Ok(parsed) => s.run(text, &parsed, &mut input),
            // Words without parentheses are natural language; a line with
            // them is a mistyped program and gets the parser's error.
            Err(_) if !text.contains('(') && brain.is_some() => {
                let Some(b) = brain.as_mut() else { continue };
                match plan_words(b, &mut s, text, &mut input) {
                    Some(r) => r,
                    None => continue,
                }
            }
            Err(e) => {
                println!("{}", e.render(text));
                if !text.contains('(') {
                    println!(
                        "(natural language needs the brain, which did not load; type a program such as drive(distance_m=1); see :help)"
                    );
                }
                continue;
            }
        };
        for (i, st) in report.steps.iter().enumerate() {
            println!("{:>3}. {:<8} {} {} -> {}", i + 1, st.status.as_str(), st.tool, st.args, st.observed);
        }
        println!(
            "{}{}",
            report.status.as_str(),
            if report.reason.is_empty() { String::new() } else { format!(": {}", report.reason) }
        );
        while photos_saved < s.executor.photos.len() {
            let p = a.out.join(format!("photo-{photos_saved:03}.png"));
            std::fs::write(&p, robot_sim::encode_png(&s.executor.photos[photos_saved]))?;
            println!("photo: {}", p.display());
            photos_saved += 1;
        }
        std::fs::write(&map, s.sim.render_svg())?;
    }
    super::host::stop_sim_sync(sync);
    Ok(ExitCode::SUCCESS)
}

/// Plans words with the brain, shows the plan and what the policy will do
/// with it, and runs it as the brain's (`None`: nothing to run).
fn plan_words(brain: &mut Brain, s: &mut SimSession, text: &str, input: &mut TerminalConfirmer) -> Option<RunReport> {
    let plan = match brain.plan(text) {
        Ok(p) => p,
        Err(e) => {
            println!("the brain failed: {e}");
            return None;
        }
    };
    let (PlanStatus::Ok, Some(program)) = (plan.status, plan.program.as_ref()) else {
        println!("{}; nothing runs.", super::plan::describe(&plan));
        return None;
    };
    let threshold = s.executor.policy.confidence_threshold();
    let confidence = plan.confidence;
    println!("plan: {program}");
    println!(
        "confidence {confidence:.2}: {}",
        if confidence >= threshold {
            format!("at or above the policy's threshold {threshold:.2}; the level's usual rules apply")
        } else {
            format!("below the policy's threshold {threshold:.2}; the plan needs your confirmation")
        }
    );
    Some(s.run_brain(program, confidence, input))
}
