//! Replaying a flight log in the simulator.
//!
//! The log's first record says which board, seed, level and kill-switch
//! schedule the session used; every operator input, brain program (with
//! the confidence the policy weighed), command and confirmation answer is
//! fed again in order. Because the simulator and
//! every timestamp run on the injected clock, a faithful replay reproduces
//! the log record for record; the first differing record is reported
//! otherwise.

use std::collections::VecDeque;
use std::path::Path;

use anyhow::{bail, Context};
use robot_hal::board::BoardFile;
use robot_hal::program;

use super::{apply_command, SessionSpec, SimSession};
use crate::executor::{Answer, ScriptedConfirmer};
use crate::recorder::{Event, Record, Recorder};

/// What a replay produced.
pub struct ReplayOutcome {
    pub session: SimSession,
    /// One line per replayed input: the input and its result.
    pub transcript: Vec<String>,
    /// Index of the first record that differs, `None` when identical.
    pub first_difference: Option<usize>,
    pub original: Vec<String>,
    pub replayed: Vec<String>,
}

/// Replay `records` (read from a flight log). Relative board paths are
/// resolved against `base_dir` when they do not exist as given.
pub fn replay(records: &[Record], base_dir: Option<&Path>) -> anyhow::Result<ReplayOutcome> {
    let Some(Event::RunStart { board, seed, level, yes, estop_at_s, .. }) = records.first().map(|r| r.event.clone())
    else {
        bail!("the log does not start with a run_start record");
    };
    let mut path = std::path::PathBuf::from(&board);
    if !path.exists() {
        if let Some(b) = base_dir {
            path = b.join(&board);
        }
    }
    let board_file = BoardFile::load(&path).with_context(|| format!("the log's board file {}", path.display()))?;
    let spec = SessionSpec {
        board_path: board,
        seed,
        level: Some(level.parse().map_err(anyhow::Error::msg)?),
        yes,
        estop_at_s,
    };
    let mut s = SimSession::start(board_file, &spec, Recorder::memory())?;
    let mut transcript = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let Event::Input { source, text, confidence } = &r.event else { continue };
        if source == "command" {
            let res = apply_command(&mut s, text);
            transcript.push(format!(":{text} -> {}", res.unwrap_or_else(|e| format!("error: {e}"))));
            continue;
        }
        // The answers the operator gave to this input's questions.
        let answers: VecDeque<Answer> = records[i + 1..]
            .iter()
            .take_while(|r| !matches!(r.event, Event::Input { .. }))
            .filter_map(|r| match &r.event {
                Event::Confirm { answer, .. } => Some(match answer.as_str() {
                    "yes" => Answer::Yes,
                    "no" => Answer::No,
                    _ => Answer::NoAnswer,
                }),
                _ => None,
            })
            .collect();
        let mut confirmer = ScriptedConfirmer { answers, asked: Vec::new() };
        match program::parse(text) {
            Ok(p) => {
                let report = if source == "brain" {
                    // A log from before confidences were recorded: NaN is
                    // what the policy treats as the least confident.
                    s.run_brain(&p, confidence.unwrap_or(f64::NAN), &mut confirmer)
                } else {
                    s.run(text, &p, &mut confirmer)
                };
                transcript.push(format!("{text} -> {}: {}", report.status.as_str(), report.reason));
            }
            Err(e) => transcript.push(format!("{text} -> cannot parse: {e}")),
        }
    }
    let original: Vec<String> = records.iter().map(|r| serde_json::to_string(r).unwrap_or_default()).collect();
    let replayed: Vec<String> =
        s.executor.recorder.records().iter().map(|r| serde_json::to_string(r).unwrap_or_default()).collect();
    let first_difference = if original == replayed {
        None
    } else {
        Some(original.iter().zip(&replayed).position(|(x, y)| x != y).unwrap_or(original.len().min(replayed.len())))
    };
    Ok(ReplayOutcome { session: s, transcript, first_difference, original, replayed })
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use robot_hal::board::BoardFile;
    use robot_hal::program;

    use super::replay;
    use crate::executor::{Answer, ScriptedConfirmer};
    use crate::recorder::{Event, Recorder};
    use crate::session::{SessionSpec, SimSession};

    #[test]
    fn brain_programs_replay_with_their_confidence() {
        let board_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards/sim-rover.toml");
        let board = BoardFile::load(&board_path).unwrap();
        let spec = SessionSpec {
            board_path: board_path.display().to_string(),
            seed: 3,
            level: None,
            yes: false,
            estop_at_s: None,
        };
        let mut s = SimSession::start(board, &spec, Recorder::memory()).unwrap();
        let low = s.executor.policy.confidence_threshold() / 2.0;
        let drive = program::parse("drive(distance_m=0.5)").unwrap();
        // Below the threshold the policy asks; the operator says yes once, no once.
        for answer in [Answer::Yes, Answer::No] {
            let mut c = ScriptedConfirmer { answers: VecDeque::from([answer]), asked: Vec::new() };
            s.run_brain(&drive, low, &mut c);
            assert!(!c.asked.is_empty(), "a low-confidence plan needs confirmation");
        }
        let mut none = ScriptedConfirmer { answers: VecDeque::new(), asked: Vec::new() };
        s.run_brain(&program::parse("set_led(color=\"red\")").unwrap(), 0.99, &mut none);
        s.run("turn(angle_deg=90)", &program::parse("turn(angle_deg=90)").unwrap(), &mut none);
        let records = s.executor.recorder.records().to_vec();
        assert!(records.iter().any(
            |r| matches!(&r.event, Event::Input { source, confidence: Some(c), .. } if source == "brain" && *c == low)
        ));
        let out = replay(&records, None).unwrap();
        assert_eq!(out.first_difference, None, "{:?}", out.transcript);

        // A log written before confidences were recorded still replays (as
        // least confident), and says where it differs instead of failing.
        let mut old = records.clone();
        for r in &mut old {
            if let Event::Input { confidence, .. } = &mut r.event {
                *confidence = None;
            }
        }
        let out = replay(&old, None).unwrap();
        assert_eq!(out.transcript.len(), 4);
    }
}
