//! [`Recorder`]: appends records to a JSON-lines flight log (or keeps them
//! in memory), one complete line per write.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::RecorderError;
use super::event::{Event, Record};
use super::read::parse;

/// When the recorder forces written records to the disk (`fdatasync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// Leave it to the operating system.
    Never,
    /// After safety events and run ends ([`Event::must_persist`]), so what
    /// led up to a stop survives a crash.
    #[default]
    Important,
    /// After every record.
    Always,
}

enum Sink {
    File {
        file: File,
        path: PathBuf,
        /// Length of the log's whole lines: a failed write is cut back to
        /// it, so one error cannot leave a torn line in the middle.
        len: u64,
    },
    Memory(Vec<Record>),
}

/// The flight recorder.
pub struct Recorder {
    sink: Sink,
    next_seq: u64,
    sync: SyncPolicy,
    discarded_tail: Option<String>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path())
            .field("next_seq", &self.next_seq)
            .field("sync", &self.sync)
            .finish()
    }
}

impl Recorder {
    /// Open (or create, with its parent folders) a flight log for
    /// appending. An existing log continues its sequence numbers; a torn
    /// last line left by a crash is cut off first (see
    /// [`Recorder::discarded_tail`]) so new records start on a line of
    /// their own. A log damaged in the middle is refused.
    pub fn create(path: impl AsRef<Path>) -> Result<Recorder, RecorderError> {
        let path = path.as_ref();
        let io = |e| RecorderError::io(path, e);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let parsed = parse(&bytes, &path.display().to_string())?;
        let mut len = parsed.good_len;
        if len < bytes.len() as u64 {
            file.set_len(len).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        if parsed.needs_newline {
            file.write_all(b"\n").map_err(io)?;
            len += 1;
        }
        let next_seq = parsed.contents.records.last().map_or(0, |r| r.seq.saturating_add(1));
        Ok(Recorder {
            sink: Sink::File { file, path: path.to_path_buf(), len },
            next_seq,
            sync: SyncPolicy::default(),
            discarded_tail: parsed.contents.truncated_tail,
        })
    }

    /// A recorder that keeps its records in memory (tests, replay).
    pub fn memory() -> Recorder {
        Recorder { sink: Sink::Memory(Vec::new()), next_seq: 0, sync: SyncPolicy::default(), discarded_tail: None }
    }

    pub fn with_sync(mut self, sync: SyncPolicy) -> Recorder {
        self.sync = sync;
        self
    }

    /// Record an event at `t` on the injected clock. The line is complete
    /// in the file when this returns, and on the disk if the sync policy
    /// asks for it.
    pub fn record(&mut self, t: Duration, event: Event) -> Result<(), RecorderError> {
        let persist = match self.sync {
            SyncPolicy::Never => false,
            SyncPolicy::Important => event.must_persist(),
            SyncPolicy::Always => true,
        };
        let t_us = u64::try_from(t.as_micros()).unwrap_or(u64::MAX);
        let record = Record { seq: self.next_seq, t_us, event: event.sanitised() };
        match &mut self.sink {
            Sink::Memory(records) => records.push(record),
            Sink::File { file, path, len } => {
                let mut line = serde_json::to_string(&record).map_err(|e| RecorderError::Encode(e.to_string()))?;
                line.push('\n');
                if let Err(e) = file.write_all(line.as_bytes()) {
                    // Best effort: the write error is what the caller needs to see.
                    let _ = file.set_len(*len);
                    return Err(RecorderError::io(path, e));
                }
                *len += line.len() as u64;
                if persist {
                    file.sync_data().map_err(|e| RecorderError::io(path, e))?;
                }
            }
        }
        self.next_seq += 1;
        Ok(())
    }

    /// Force everything recorded so far to the disk.
    pub fn sync(&mut self) -> Result<(), RecorderError> {
        match &mut self.sink {
            Sink::File { file, path, .. } => file.sync_data().map_err(|e| RecorderError::io(path, e)),
            Sink::Memory(_) => Ok(()),
        }
    }

    /// The records of a memory recorder (empty for a file: read it with
    /// [`read_log`](super::read_log)).
    pub fn records(&self) -> &[Record] {
        match &self.sink {
            Sink::Memory(records) => records,
            Sink::File { .. } => &[],
        }
    }

    /// The log file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        match &self.sink {
            Sink::File { path, .. } => Some(path),
            Sink::Memory(_) => None,
        }
    }

    /// The sequence number the next record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The torn last line [`Recorder::create`] cut off an existing log, if any.
    pub fn discarded_tail(&self) -> Option<&str> {
        self.discarded_tail.as_deref()
    }
}
