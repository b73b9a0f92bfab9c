//! The flight recorder: every input, plan, policy decision, step result,
//! level change and safety event, in order, in an append-only JSON-lines
//! file that `robot replay` reads back and re-runs.
//!
//! Times are the injected clock's (simulated microseconds in the
//! simulator), never wall time, and nothing else varies between runs, so
//! two runs with one seed write byte-identical logs. Each record is one
//! complete line written in one call; safety events and run ends are
//! forced to the disk before [`Recorder::record`] returns. [`read_log`]
//! keeps every record before a line torn by a power cut.

mod error;
mod event;
mod read;
mod writer;

#[cfg(test)]
mod tests;

pub use error::RecorderError;
pub use event::{Event, Record};
pub use read::{read_log, LogContents};
pub use writer::{Recorder, SyncPolicy};
