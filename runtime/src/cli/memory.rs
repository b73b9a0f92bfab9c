//! `robot memory`: read the robot's memory database (places, objects seen,
//! episodes, notes) from a shell, while the robot runs or after.
//!
//! `search` finds records by meaning (`memory_search.rs`); it writes
//! nothing but the records' embeddings, cached in the same file.
//! Otherwise it only reads; the file must exist (a mistyped path is an error, not a new
//! empty memory). WAL mode lets it read while the robot writes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use robot_runtime::memory::{MemoryStore, ObjectFilter};

#[derive(Args)]
pub struct MemoryArgs {
    #[command(subcommand)]
    what: MemoryWhat,
    /// The memory database file.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Print JSON (one array) instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum MemoryWhat {
    /// Known places, by name.
    Places,
    /// Objects seen, newest first.
    Objects {
        /// Only labels containing this text (`ball`, `red`).
        #[arg(long)]
        label: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Past runs, newest first.
    Episodes {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Notes and preferences, newest first.
    Notes {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Records similar in meaning to the text (sentence embeddings), best
    /// first: `robot memory search "red ball" --kind object --since 2d`.
    Search(super::memory_search::SearchArgs),
}

fn print<T: serde::Serialize>(json: bool, rows: &[T], text: impl Fn(&T) -> String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
    } else {
        for r in rows {
            println!("{}", text(r));
        }
    }
    Ok(())
}

fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}

pub fn run(a: MemoryArgs) -> anyhow::Result<ExitCode> {
    let Some(db) = a.db else { bail!("--db FILE is required") };
    if !db.is_file() {
        bail!("no memory database at {}", db.display());
    }
    let store = MemoryStore::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
    match a.what {
        MemoryWhat::Places => print(a.json, &store.places()?, |p| {
            let heading = if p.has_heading { format!(" heading {:.0}", p.pose.heading_deg) } else { String::new() };
            format!("{:<20} x {:>7.2} y {:>7.2}{heading}  ({})", p.name, p.pose.x, p.pose.y, p.source.as_str())
        })?,
        MemoryWhat::Objects { label, limit } => {
            let filter = ObjectFilter { label_contains: label, limit: Some(limit), ..Default::default() };
            print(a.json, &store.objects(&filter)?, |o| {
                format!("{:>10.3} s  {:<20} x {:>7.2} y {:>7.2}", secs(o.seen_at_us), o.label, o.x, o.y)
            })?
        }
        MemoryWhat::Episodes { limit } => print(a.json, &store.episodes(limit)?, |e| {
            let r = &e.record;
            let reason = if r.reason.is_empty() { String::new() } else { format!(": {}", r.reason) };
            format!("{:>10.3} s  {} -> {} / {}{reason}", secs(r.started_at_us), r.command, r.decision, r.status)
        })?,
        MemoryWhat::Notes { limit } => print(a.json, &store.notes(None, limit)?, |n| {
            format!("{:>10.3} s  [{}] {}", secs(n.created_at_us), n.kind.as_str(), n.text)
        })?,
        MemoryWhat::Search(ref s) => super::memory_search::robot(&store, s, a.json)?,
    }
    Ok(ExitCode::SUCCESS)
}
