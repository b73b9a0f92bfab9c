//! `robot check-board` and `robot tools`.

use std::path::PathBuf;
use std::process::ExitCode;

use robot_hal::board::BoardFile;
use robot_hal::tools::ArgType;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Board file to validate.
    pub file: PathBuf,
}

#[derive(clap::Args)]
pub struct ToolsArgs {
    #[arg(long)]
    pub board: Option<PathBuf>,
}

pub fn run(a: CheckArgs) -> anyhow::Result<ExitCode> {
    match BoardFile::load(&a.file) {
        Ok(b) => {
            println!(
                "{}: ok: board `{}` ({:?} backend), {} tools, {} places, autonomy cap {}",
                a.file.display(),
                b.board.name,
                b.board.backend,
                b.tools.len(),
                b.places.len(),
                b.autonomy.cap
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}

pub fn tools(a: ToolsArgs) -> anyhow::Result<ExitCode> {
    let path = a.board.unwrap_or_else(super::default_board);
    let b = super::load_board(&path)?;
    for t in b.registry().tools() {
        let args: Vec<String> = t
            .args
            .iter()
            .map(|a| {
                let ty = match &a.ty {
                    ArgType::Number { unit, min, max } => format!(
                        "number{}{}",
                        unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default(),
                        match (min, max) {
                            (Some(lo), Some(hi)) => format!(" [{lo}, {hi}]"),
                            _ => String::new(),
                        }
                    ),
                    ArgType::String { .. } => "text".into(),
                    ArgType::Enum { values } => values.join("|"),
                };
                format!("{}{}: {ty}", a.name, if a.required { "" } else { "?" })
            })
            .collect();
        println!("{:<16} {:<11} ({})  {}", t.name, t.risk.as_str(), args.join(", "), t.description);
    }
    Ok(ExitCode::SUCCESS)
}
