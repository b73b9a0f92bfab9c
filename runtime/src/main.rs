//! `robot`: the command-line front end of the runtime.
//!
//! `robot sim` drives the simulated rover from a prompt, `robot exec` runs
//! one program and prints a JSON report, `robot check-board` validates a
//! board file, `robot replay` re-runs a flight log in the simulator and
//! checks it reproduces byte for byte.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "robot", version, about = "Edge agent runtime for robots")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Interactive prompt on the simulated rover; writes the map picture.
    Sim(cli::sim::SimArgs),
    /// Run one program in the simulator.
    Exec(cli::exec::ExecArgs),
    /// Run one program on the real robot of a board file (serial backend).
    Run(cli::run::RunArgs),
    /// Validate a board file.
    CheckBoard(cli::check::CheckArgs),
    /// Replay a flight log in the simulator and compare.
    Replay(cli::replay::ReplayArgs),
    /// List a board's tools.
    Tools(cli::check::ToolsArgs),
    /// Read the robot's memory database: places, objects, episodes, notes.
    Memory(cli::memory::MemoryArgs),
    /// The fleet host: mirror robots' memory over MQTT, fleet status, commands.
    Host(cli::host::HostArgs),
    /// Plan one utterance with the on-board brain (prints the program; runs nothing).
    Plan(cli::plan::PlanArgs),
    /// Evaluate the brain on a JSONL set: accuracy per tag, failures, latency.
    Eval(cli::eval::EvalArgs),
    /// Voice control: microphone (or WAV file) to speech to plans run on the sim or a board.
    Listen(cli::listen::ListenArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(a) => cli::sim::run(a),
        Command::Exec(a) => cli::exec::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::CheckBoard(a) => cli::check::run(a),
        Command::Replay(a) => cli::replay::run(a),
        Command::Tools(a) => cli::check::tools(a),
        Command::Memory(a) => cli::memory::run(a),
        Command::Host(a) => cli::host::run(a),
        Command::Plan(a) => cli::plan::run(a),
        Command::Eval(a) => cli::eval::run(a),
        Command::Listen(a) => cli::listen::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
