//! The simulated kill-switch line.
//!
//! The line is active low: high means released, low means pressed. Its
//! level lives outside the world mutex, behind its own small mutex and a
//! condition variable, so the runtime's line-monitor thread can block in
//! [`WaitForEdge::wait_for_edge`] and wake the moment the line changes,
//! whether an operator pressed it ([`crate::Sim::press_estop`]) or the
//! world pulled it low on schedule while stepping.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use robot_hal::capability::{InputPin, WaitForEdge};
use robot_hal::ErrorType;

use crate::error::SimError;

#[derive(Debug)]
struct LineState {
    high: bool,
    /// Counts level changes, so a reader can tell it missed one.
    edges: u64,
    /// Wall-clock instant of the last high-to-low change.
    low_at: Option<Instant>,
}

/// The line itself, shared by the sim and every reader.
#[derive(Debug)]
pub(crate) struct Line {
    state: Mutex<LineState>,
    changed: Condvar,
}

impl Line {
    pub(crate) fn new() -> Arc<Line> {
        Arc::new(Line { state: Mutex::new(LineState { high: true, edges: 0, low_at: None }), changed: Condvar::new() })
    }

    fn lock(&self) -> MutexGuard<'_, LineState> {
        // A reader that panicked cannot leave the level half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drive the line; returns whether the level changed.
    pub(crate) fn set_high(&self, high: bool) -> bool {
        let mut s = self.lock();
        if s.high == high {
            return false;
        }
        s.high = high;
        s.edges += 1;
        if !high {
            s.low_at = Some(Instant::now());
        }
        drop(s);
        self.changed.notify_all();
        true
    }

    pub(crate) fn is_high(&self) -> bool {
        self.lock().high
    }

    pub(crate) fn low_at(&self) -> Option<Instant> {
        self.lock().low_at
    }

    fn read(&self) -> (bool, u64) {
        let s = self.lock();
        (s.high, s.edges)
    }
}

/// A reader's handle on the kill-switch line (`sim:estop`).
#[derive(Debug)]
pub struct SimEstopLine {
    line: Arc<Line>,
    /// Edge count when this handle last looked, so an edge between a read
    /// and the next wait is reported at once instead of after the timeout.
    seen: u64,
}

impl SimEstopLine {
    pub(crate) fn new(line: Arc<Line>) -> Self {
        let seen = line.read().1;
        Self { line, seen }
    }
}

impl ErrorType for SimEstopLine {
    type Error = SimError;
}

impl InputPin for SimEstopLine {
    fn is_high(&mut self) -> Result<bool, SimError> {
        let (high, edges) = self.line.read();
        self.seen = edges;
        Ok(high)
    }
}

impl WaitForEdge for SimEstopLine {
    fn wait_for_edge(&mut self, timeout: Duration) -> Result<bool, SimError> {
        let deadline = Instant::now() + timeout;
        let mut s = self.line.lock();
        while s.edges == self.seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            s = self.line.changed.wait_timeout(s, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        self.seen = s.edges;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiter_wakes_on_a_change_from_another_thread() {
        let line = Line::new();
        let mut pin = SimEstopLine::new(line.clone());
        assert_eq!(pin.is_high(), Ok(true));
        let presser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            line.set_high(false)
        });
        let started = Instant::now();
        assert_eq!(pin.wait_for_edge(Duration::from_secs(5)), Ok(true));
        assert!(started.elapsed() < Duration::from_secs(4));
        assert_eq!(pin.is_low(), Ok(true));
        assert!(presser.join().unwrap_or(false));
    }

    #[test]
    fn missed_edge_is_reported_at_once() {
        let line = Line::new();
        let mut pin = SimEstopLine::new(line.clone());
        line.set_high(false);
        line.set_high(true);
        assert_eq!(pin.wait_for_edge(Duration::from_millis(1)), Ok(true));
        assert_eq!(pin.wait_for_edge(Duration::from_millis(1)), Ok(false));
    }
}
