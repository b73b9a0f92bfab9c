//! Speakers for any host: a text log ([`ConsoleSpeaker`]) and an external
//! text-to-speech program ([`CommandSpeaker`]).
//!
//! The text comes from the brain or an operator, so both refuse anything
//! longer than their `max_len` and text with NUL bytes, and
//! [`CommandSpeaker`] hands it to the program as one argv entry: no shell
//! ever sees it, so quotes, `$(...)` and semicolons are just spoken.

use std::io::{self, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::process::{spawn_error_kind, spawn_hint};
use crate::capability::Speaker;
use crate::{ErrorKind, ErrorType};

/// Longest utterance accepted by default, in characters.
pub const DEFAULT_MAX_LEN: usize = 1000;
/// How long `say` waits by default for the previous utterance to end.
const DEFAULT_PREVIOUS_WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(5);

/// Why a speaker could not speak.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpeakerError {
    /// The text is longer than the speaker's limit.
    #[error("text of {len} characters is longer than the limit of {max}")]
    TooLong { len: usize, max: usize },
    /// The text contains a NUL byte, which no program argument can hold.
    #[error("text contains a NUL byte")]
    Nul,
    /// Writing the log line failed.
    #[error("cannot write speech log: {0}")]
    Io(#[source] io::Error),
    /// The speech program could not be started.
    #[error("cannot run speech program `{program}`: {source}{hint}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    /// The speech program ran but reported failure.
    #[error("speech program `{program}` failed: {status}")]
    Failed { program: String, status: ExitStatus },
}

impl crate::Error for SpeakerError {
    fn kind(&self) -> ErrorKind {
        match self {
            SpeakerError::TooLong { .. } | SpeakerError::Nul => ErrorKind::OutOfRange,
            SpeakerError::Io(_) | SpeakerError::Failed { .. } => ErrorKind::Fault,
            SpeakerError::Spawn { source, .. } => spawn_error_kind(source),
        }
    }
}

fn check_text(text: &str, max: usize) -> Result<(), SpeakerError> {
    let len = text.chars().count();
    if len > max {
        return Err(SpeakerError::TooLong { len, max });
    }
    if text.contains('\0') {
        return Err(SpeakerError::Nul);
    }
    Ok(())
}

/// Writes one `say: <text>` line per utterance. Control characters in the
/// text become spaces, so every utterance stays on one line of the log.
#[derive(Debug)]
pub struct ConsoleSpeaker<W: Write> {
    out: W,
    max_len: usize,
}

impl ConsoleSpeaker<io::Stdout> {
    /// Speak to standard output.
    pub fn stdout() -> Self {
        Self::new(io::stdout())
    }
}

impl<W: Write> ConsoleSpeaker<W> {
    pub fn new(out: W) -> Self {
        Self { out, max_len: DEFAULT_MAX_LEN }
    }

    /// Refuse utterances longer than `max_len` characters.
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> ErrorType for ConsoleSpeaker<W> {
    type Error = SpeakerError;
}

impl<W: Write> Speaker for ConsoleSpeaker<W> {
    fn say(&mut self, text: &str) -> Result<(), SpeakerError> {
        check_text(text, self.max_len)?;
        let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        writeln!(self.out, "say: {line}").and_then(|()| self.out.flush()).map_err(SpeakerError::Io)
    }
}

/// Speaks by running a text-to-speech program, e.g.
/// `CommandSpeaker::new("espeak-ng", vec!["-v".into(), "en-us".into()])`,
/// which runs `espeak-ng -v en-us <text>`.
///
/// `say` returns once the program has started. If the previous utterance
/// is still playing it waits for it first (up to `previous_wait`, then cuts
/// it off), so consecutive utterances queue instead of overlapping; the
/// previous program's exit status is not reported by `say`, call
/// [`CommandSpeaker::finish`] for that. Text starting with `-` gets a
/// leading space so the program cannot take it for an option.
#[derive(Debug)]
pub struct CommandSpeaker {
    program: String,
    args: Vec<String>,
    max_len: usize,
    previous_wait: Duration,
    speaking: Option<Child>,
}

impl CommandSpeaker {
    /// Run `program args... <text>` for every utterance.
    pub fn new(program: impl Into<String>, args: Vec<String>) -> Self {
        Self {
            program: program.into(),
            args,
            max_len: DEFAULT_MAX_LEN,
            previous_wait: DEFAULT_PREVIOUS_WAIT,
            speaking: None,
        }
    }

    /// Refuse utterances longer than `max_len` characters.
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Longest `say` waits for the previous utterance before killing it.
    pub fn with_previous_wait(mut self, wait: Duration) -> Self {
        self.previous_wait = wait;
        self
    }

    /// Whether the last utterance's program is still running.
    pub fn is_speaking(&mut self) -> bool {
        self.speaking.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Wait for the current utterance to end and report how its program
    /// exited. `Ok` when nothing is playing.
    pub fn finish(&mut self) -> Result<(), SpeakerError> {
        let Some(mut child) = self.speaking.take() else { return Ok(()) };
        let status = child.wait().map_err(SpeakerError::Io)?;
        if status.success() {
            Ok(())
        } else {
            Err(SpeakerError::Failed { program: self.program.clone(), status })
        }
    }

    /// Let the previous utterance end (bounded), then reap it.
    fn reap_previous(&mut self) {
        let Some(mut child) = self.speaking.take() else { return };
        let deadline = Instant::now() + self.previous_wait;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) | Err(_) => break,
            }
        }
        // Killing an already-exited child is harmless; the wait reaps it.
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl ErrorType for CommandSpeaker {
    type Error = SpeakerError;
}

impl Speaker for CommandSpeaker {
    fn say(&mut self, text: &str) -> Result<(), SpeakerError> {
        check_text(text, self.max_len)?;
        if text.trim().is_empty() {
            return Ok(());
        }
        self.reap_previous();
        let arg = if text.starts_with('-') { format!(" {text}") } else { text.to_string() };
        let child = Command::new(&self.program)
            .args(&self.args)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| SpeakerError::Spawn {
                program: self.program.clone(),
                hint: spawn_hint(&source),
                source,
            })?;
        self.speaking = Some(child);
        Ok(())
    }
}

impl Drop for CommandSpeaker {
    /// Let the last utterance finish, but reap it so no zombie is left.
    fn drop(&mut self) {
        if let Some(mut child) = self.speaking.take() {
            if matches!(child.try_wait(), Ok(None)) {
                std::thread::spawn(move || child.wait());
            }
        }
    }
}
