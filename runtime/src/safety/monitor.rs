//! The kill-switch line monitor: one dedicated OS thread per line.
//!
//! It reads the line's level, engages the latch the moment the level reads
//! pressed (no debounce on engage: a glitch stops the robot, which is the
//! safe failure), and otherwise sleeps in `wait_for_edge` with a short
//! timeout. Edges only wake it early; the level read afterwards is what
//! counts, so a missed interrupt delays a stop by at most one poll period
//! and cannot lose it. A line that cannot be read counts as pressed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use robot_hal::capability::erased::DynInput;

use super::latch::{Cause, Latch, SafetyEvent};

/// Owns the monitor thread; dropping it stops the thread.
pub struct LineMonitor {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl LineMonitor {
    /// Start watching `line`. `active_low`: the line reads low when pressed.
    /// `poll` bounds how long a missed edge can go unnoticed.
    pub fn spawn(
        mut line: DynInput,
        active_low: bool,
        latch: Arc<Latch>,
        poll: Duration,
    ) -> std::io::Result<LineMonitor> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        // Read once before returning, so the latch knows the line's state
        // before the first program starts.
        let first = read_pressed(&mut line, active_low, &latch);
        let handle = std::thread::Builder::new().name("estop-line".into()).spawn(move || {
            let mut pressed = first;
            while !stop2.load(Ordering::Relaxed) {
                if pressed {
                    latch.engage(Cause::Line);
                }
                // Spurious wake-ups and missed edges are both fine: the
                // level is read again either way.
                if line.wait_for_edge(poll).is_err() {
                    std::thread::sleep(poll);
                }
                pressed = read_pressed(&mut line, active_low, &latch);
            }
        })?;
        Ok(LineMonitor { stop, handle: Some(handle) })
    }
}

fn read_pressed(line: &mut DynInput, active_low: bool, latch: &Latch) -> bool {
    let pressed = match line.is_high() {
        Ok(high) => high != active_low,
        Err(e) => {
            latch.note(SafetyEvent::LineUnreadable(e.kind));
            true
        }
    };
    latch.observe_line(pressed);
    pressed
}

impl Drop for LineMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
