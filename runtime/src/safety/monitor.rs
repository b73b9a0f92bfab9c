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
use std::time::{Duration, Instant};

use robot_hal::capability::erased::DynInput;

use super::latch::{Cause, Latch, SafetyEvent};

/// A wake-up faster than this counts as immediate.
const QUICK_WAKE: Duration = Duration::from_micros(20);
/// Immediate wake-ups in a row before the monitor sleeps for [`BACKOFF`].
const QUICK_WAKES_BEFORE_BACKOFF: u32 = 256;
const BACKOFF: Duration = Duration::from_micros(200);

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
            raise_priority();
            let mut pressed = first;
            let mut quick_wakes = 0u32;
            while !stop2.load(Ordering::Relaxed) {
                if pressed {
                    latch.engage(Cause::Line);
                }
                // Spurious wake-ups and missed edges are both fine: the
                // level is read again either way.
                let waited = Instant::now();
                if line.wait_for_edge(poll).is_err() {
                    std::thread::sleep(poll);
                }
                // At real-time priority a line driver that returns at once,
                // again and again, would hog a core: back off briefly after
                // a long run of immediate wake-ups.
                quick_wakes = if waited.elapsed() < QUICK_WAKE { quick_wakes + 1 } else { 0 };
                if quick_wakes >= QUICK_WAKES_BEFORE_BACKOFF {
                    std::thread::sleep(BACKOFF);
                    quick_wakes = 0;
                }
                pressed = read_pressed(&mut line, active_low, &latch);
            }
        })?;
        Ok(LineMonitor { stop, handle: Some(handle) })
    }
}

/// Ask the OS to schedule this thread ahead of ordinary work (real-time
/// FIFO on Linux), so a busy CPU does not delay a stop. It sleeps almost all
/// the time, so it cannot starve anything. Without the privilege (not root,
/// no CAP_SYS_NICE, no RLIMIT_RTPRIO) it stays a normal thread: a warning,
/// not a failure; on a robot the systemd unit grants the privilege.
fn raise_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            set_thread_priority_and_policy, thread_native_id, RealtimeThreadSchedulePolicy, ThreadSchedulePolicy,
        };
        use thread_priority::ThreadPriority;
        let policy = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
        if let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Max, policy) {
            eprintln!("warning: the kill-switch monitor runs at normal priority (real-time priority refused: {e:?})");
        }
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
