//! `robot replay`: re-run a flight log in the simulator and compare.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use robot_runtime::recorder::read_log;
use robot_runtime::session::replay;

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Flight log (JSON lines) written by `robot exec --log` or `robot sim`.
    pub log: PathBuf,
    /// Write the replayed path on the map (SVG).
    #[arg(long)]
    pub map: Option<PathBuf>,
}

pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let contents = read_log(&a.log).with_context(|| format!("cannot read {}", a.log.display()))?;
    if let Some(tail) = &contents.truncated_tail {
        eprintln!("note: the log ends with a torn record ({} bytes), ignored", tail.len());
    }
    let out =
        replay(&contents.records, a.log.parent()).with_context(|| format!("cannot replay {}", a.log.display()))?;
    for line in &out.transcript {
        println!("{line}");
    }
    if let Some(m) = &a.map {
        std::fs::write(m, out.session.sim.render_svg()).with_context(|| format!("cannot write {}", m.display()))?;
    }
    // A power cut tears the last record and loses what would have followed:
    // the replay then goes on past the log's end, and only the records the
    // log kept can be compared.
    let torn = contents.truncated_tail.is_some();
    let first_difference = out.first_difference.filter(|&at| !(torn && at == out.original.len()));
    match first_difference {
        None if torn => {
            println!("replay identical: {} records, up to the torn record", out.original.len());
            Ok(ExitCode::SUCCESS)
        }
        None => {
            println!("replay identical: {} records", out.original.len());
            Ok(ExitCode::SUCCESS)
        }
        Some(at) => {
            println!(
                "replay DIFFERS at record {} (log has {}, replay has {})",
                at + 1,
                out.original.len(),
                out.replayed.len()
            );
            println!("  log:    {}", out.original.get(at).map(String::as_str).unwrap_or("(end)"));
            println!("  replay: {}", out.replayed.get(at).map(String::as_str).unwrap_or("(end)"));
            Ok(ExitCode::from(1))
        }
    }
}
