//! Errors of the flight recorder.

/// A flight log that could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A complete line (not the last) that is not a record: the log was
    /// edited or corrupted, not merely cut short.
    #[error("{path}:{line}: not a flight-log record: {message}")]
    Malformed { path: String, line: usize, message: String },
    #[error("cannot encode a flight-log record: {0}")]
    Encode(String),
}

impl RecorderError {
    pub(super) fn io(path: &std::path::Path, source: std::io::Error) -> RecorderError {
        RecorderError::Io { path: path.display().to_string(), source }
    }
}
