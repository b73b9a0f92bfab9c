//! An output line that only records its level.
//!
//! Boards without a real motor-enable (or other) output line still need a
//! device behind the name, and tests need to see what the runtime wrote.
//! Clones share the line, so a test or a status page can keep one handle
//! while the registry owns another.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::capability::OutputPin;
use crate::ErrorType;

/// How many of the latest writes are kept, so a line toggled all day
/// does not grow without bound.
pub const KEPT_WRITES: usize = 1024;

#[derive(Debug, Default)]
struct Record {
    high: bool,
    /// The latest writes, in order, including ones that did not change the level.
    writes: VecDeque<bool>,
    count: u64,
}

/// An [`OutputPin`] that remembers its level and every write.
#[derive(Debug, Clone, Default)]
pub struct RecordingOutputPin {
    record: Arc<Mutex<Record>>,
}

impl RecordingOutputPin {
    /// A line starting at `high` (true) or low, with no writes recorded.
    pub fn new(high: bool) -> Self {
        Self { record: Arc::new(Mutex::new(Record { high, writes: VecDeque::new(), count: 0 })) }
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        // A writer cannot leave the record half-updated.
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current level.
    pub fn is_set_high(&self) -> bool {
        self.lock().high
    }

    /// The latest [`KEPT_WRITES`] levels written, oldest first.
    pub fn writes(&self) -> Vec<bool> {
        self.lock().writes.iter().copied().collect()
    }

    /// How many writes there have been in all.
    pub fn write_count(&self) -> u64 {
        self.lock().count
    }

    fn set(&self, high: bool) {
        let mut r = self.lock();
        r.high = high;
        if r.writes.len() == KEPT_WRITES {
            r.writes.pop_front();
        }
        r.writes.push_back(high);
        r.count += 1;
    }
}

impl ErrorType for RecordingOutputPin {
    type Error = Infallible;
}

impl OutputPin for RecordingOutputPin {
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.set(true);
        Ok(())
    }

    fn set_low(&mut self) -> Result<(), Infallible> {
        self.set(false);
        Ok(())
    }
}
