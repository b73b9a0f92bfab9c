//! `robot sim`: an interactive prompt on the simulated rover.
//!
//! Type a program (`drive(distance_m=1); turn(angle_deg=90)`) or a command
//! (`:help`). After every run the map with the rover's path is written to
//! the output folder, with photos and the flight log beside it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use robot_hal::board::Level;
use robot_hal::program;
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
}

pub fn run(a: SimArgs) -> anyhow::Result<ExitCode> {
    let board_path = a.board.clone().unwrap_or_else(super::default_board);
    let board = super::load_board(&board_path)?;
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
    loop {
        print!("robot> ");
        std::io::stdout().flush()?;
        let Some(line) = input.read_line(None) else { break };
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
        let parsed = match program::parse(text) {
            Ok(p) => p,
            Err(e) => {
                println!("{}", e.render(text));
                if !text.contains('(') {
                    println!(
                        "(natural language needs the brain; type a program such as drive(distance_m=1); see :help)"
                    );
                }
                continue;
            }
        };
        let report = s.run(text, &parsed, &mut input);
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
    Ok(ExitCode::SUCCESS)
}
