//! Reading a flight log back, tolerating what a power cut leaves behind.
//!
//! Every record is written as one line in one write, so a crash can only
//! tear the last line. A torn last line is returned as text, separately,
//! and every record before it is kept; a bad line anywhere else means the
//! log was damaged some other way and is an error naming that line.

use std::path::Path;

use super::error::RecorderError;
use super::event::Record;

/// The records of a flight log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogContents {
    pub records: Vec<Record>,
    /// The text of a last line cut short (no newline, not a record).
    pub truncated_tail: Option<String>,
}

/// A parsed log and where its complete part ends, for appending.
pub(super) struct Parsed {
    pub contents: LogContents,
    /// Bytes up to the end of the last whole record line.
    pub good_len: u64,
    /// The last record is whole but its newline is missing.
    pub needs_newline: bool,
}

pub(super) fn parse(bytes: &[u8], origin: &str) -> Result<Parsed, RecorderError> {
    let mut records = Vec::new();
    let mut offset = 0usize;
    let mut line_no = 0usize;
    let mut truncated_tail = None;
    let mut needs_newline = false;
    let mut good_len = 0usize;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, next, whole) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], offset + i + 1, true),
            None => (rest, bytes.len(), false),
        };
        offset = next;
        if line.iter().all(u8::is_ascii_whitespace) {
            if whole {
                good_len = offset;
            }
            continue;
        }
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str::<Record>(s).map_err(|e| e.to_string()));
        match parsed {
            Ok(r) => {
                records.push(r);
                good_len = offset;
                needs_newline = !whole;
            }
            Err(_) if !whole => truncated_tail = Some(String::from_utf8_lossy(line).into_owned()),
            Err(message) => return Err(RecorderError::Malformed { path: origin.to_string(), line: line_no, message }),
        }
    }
    Ok(Parsed { contents: LogContents { records, truncated_tail }, good_len: good_len as u64, needs_newline })
}

/// Read a flight log written by [`Recorder`](super::Recorder).
pub fn read_log(path: impl AsRef<Path>) -> Result<LogContents, RecorderError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| RecorderError::io(path, e))?;
    Ok(parse(&bytes, &path.display().to_string())?.contents)
}
