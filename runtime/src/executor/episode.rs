//! What the executor gathers about a run while it goes, so the finished run
//! can be stored as an episode in the memory store (when one is attached).
//!
//! The command text arrives as an `Input` event before the run (the session
//! records it), the program and start time at the start of the run, and the
//! policy's verdict as a `Decision` event; the executor feeds every event it
//! records through [`EpisodeDraft::observe`], so no caller has to pass these
//! separately.

use std::time::Duration;

use serde_json::Value as Json;

use super::report::RunReport;
use crate::memory::EpisodeRecord;
use crate::recorder::Event;

#[derive(Debug, Clone, Default)]
pub(crate) struct EpisodeDraft {
    /// The last operator or brain input, taken by the next run.
    command: Option<String>,
    program: String,
    decision: String,
    started: Duration,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl EpisodeDraft {
    /// Note what an event tells about the run being built.
    pub(crate) fn observe(&mut self, event: &Event) {
        match event {
            // `:level`, `:estop` and the like are commands, not the request.
            Event::Input { source, text, .. } if source != "command" => self.command = Some(text.clone()),
            Event::Decision { decision, .. } => self.decision = decision.clone(),
            _ => {}
        }
    }

    /// A run starts: its program and start time; the verdict is not known yet.
    pub(crate) fn start(&mut self, program: String, now: Duration) {
        self.program = program;
        self.decision.clear();
        self.started = now;
    }

    /// The finished run as an episode; the command is used up.
    pub(crate) fn finish(&mut self, report: &RunReport, now: Duration) -> EpisodeRecord {
        let program = std::mem::take(&mut self.program);
        EpisodeRecord {
            command: self.command.take().unwrap_or_else(|| program.clone()),
            program,
            decision: std::mem::take(&mut self.decision),
            status: report.status.as_str().to_string(),
            reason: report.reason.clone(),
            steps: serde_json::to_value(&report.steps).unwrap_or(Json::Null),
            started_at_us: micros(self.started),
            ended_at_us: micros(now),
        }
    }
}
