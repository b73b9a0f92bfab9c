//! `robot-normalize`: the text normalizer as a filter, for the Python training
//! pipeline. Each input line is one utterance (JSON string or raw text); each
//! output line is the [`robot_models::normalize::Normalized`] JSON for it, so
//! training data passes through exactly the code the robot runs.

use std::io::{self, BufRead, BufWriter, Write};

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        // A JSON string keeps utterances with newlines or odd bytes intact;
        // anything else is taken as raw text.
        let text = serde_json::from_str::<String>(&line).unwrap_or(line);
        let norm = robot_models::normalize::normalize(&text);
        serde_json::to_writer(&mut out, &norm).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
