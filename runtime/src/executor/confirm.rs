//! Asking the operator: confirmations and takeover requests.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Nobody answered (no terminal, or the timeout passed).
    NoAnswer,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::NoAnswer => "no answer",
        }
    }
}

/// Someone (or something standing in for the operator) who answers
/// yes/no questions.
pub trait Confirmer {
    fn confirm(&mut self, question: &str, timeout: Option<Duration>) -> Answer;
}

/// `--yes`: the operator confirmed everything in advance.
#[derive(Debug, Default)]
pub struct YesToAll;

impl Confirmer for YesToAll {
    fn confirm(&mut self, _q: &str, _t: Option<Duration>) -> Answer {
        Answer::Yes
    }
}

/// No operator to ask: every question goes unanswered.
#[derive(Debug, Default)]
pub struct NoOperator;

impl Confirmer for NoOperator {
    fn confirm(&mut self, _q: &str, _t: Option<Duration>) -> Answer {
        Answer::NoAnswer
    }
}

/// Answers from a script, then no answer (tests).
#[derive(Debug, Default)]
pub struct ScriptedConfirmer {
    pub answers: std::collections::VecDeque<Answer>,
    pub asked: Vec<String>,
}

impl Confirmer for ScriptedConfirmer {
    fn confirm(&mut self, q: &str, _t: Option<Duration>) -> Answer {
        self.asked.push(q.to_string());
        self.answers.pop_front().unwrap_or(Answer::NoAnswer)
    }
}

/// Asks on the terminal. Reads stdin on a helper thread so a takeover
/// request can time out while the operator is away.
pub struct TerminalConfirmer {
    lines: mpsc::Receiver<String>,
}

impl TerminalConfirmer {
    /// `None` when stdin is not a terminal (nobody can answer).
    pub fn new() -> Option<TerminalConfirmer> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        Some(Self::from_stdin())
    }

    /// Read answers from stdin whether or not it is a terminal (the
    /// interactive prompt shares this reader).
    pub fn from_stdin() -> TerminalConfirmer {
        let (tx, rx) = mpsc::sync_channel(16);
        let _ = std::thread::Builder::new().name("stdin".into()).spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        TerminalConfirmer { lines: rx }
    }

    /// Next line typed, or `None` at end of input / timeout.
    pub fn read_line(&mut self, timeout: Option<Duration>) -> Option<String> {
        match timeout {
            Some(t) => self.lines.recv_timeout(t).ok(),
            None => self.lines.recv().ok(),
        }
    }
}

impl Confirmer for TerminalConfirmer {
    fn confirm(&mut self, question: &str, timeout: Option<Duration>) -> Answer {
        let mut err = std::io::stderr();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
        match self.read_line(timeout) {
            Some(l) if matches!(l.trim().to_lowercase().as_str(), "y" | "yes") => Answer::Yes,
            Some(_) => Answer::No,
            None => {
                let _ = writeln!(err, "(no answer)");
                Answer::NoAnswer
            }
        }
    }
}
