//! [`OperatorWatchdog`]: the timer that checks the operator link.
//!
//! Heartbeats arrive on the MQTT link's thread and feed the watchdog kept
//! by [`RemoteKillSink`]; a silence produces no message, so something must
//! look at the clock. This is a small thread that calls
//! [`RemoteKillSink::tick_operator`] every [`OperatorWatchdog::period_for`]
//! with the robot's current level, read from an [`OperatorShared`] that
//! the thread owning the policy keeps up to date. The latch is engaged on
//! the watchdog's thread the moment the loss is found; lowering the level
//! needs the policy, so the loss is left in [`OperatorShared`] for its
//! owner to apply ([`OperatorShared::take_loss`]).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use robot_hal::board::Level;

use super::heartbeat::LinkLoss;
use super::sink::RemoteKillSink;

/// Shared between the watchdog and the thread that owns the policy.
#[derive(Debug)]
pub struct OperatorShared {
    level: AtomicU8,
    loss: Mutex<Option<LinkLoss>>,
}

impl OperatorShared {
    pub fn new(level: Level) -> Arc<OperatorShared> {
        Arc::new(OperatorShared { level: AtomicU8::new(level.as_u8()), loss: Mutex::new(None) })
    }

    /// The robot's level now (call after every change).
    pub fn set_level(&self, level: Level) {
        self.level.store(level.as_u8(), Ordering::SeqCst);
    }

    /// The level the watchdog judges by. A value that is not a level
    /// (cannot happen through `set_level`) reads as L0, which needs an
    /// operator: the safe reading.
    pub fn level(&self) -> Level {
        Level::from_u8(self.level.load(Ordering::SeqCst)).unwrap_or(Level::L0)
    }

    /// A loss the watchdog found and nobody applied yet.
    pub fn take_loss(&self) -> Option<LinkLoss> {
        self.loss.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn put_loss(&self, loss: LinkLoss) {
        *self.loss.lock().unwrap_or_else(|p| p.into_inner()) = Some(loss);
    }
}

/// The running watchdog thread; stops when dropped.
#[derive(Debug)]
pub struct OperatorWatchdog {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl OperatorWatchdog {
    /// How often a link with `timeout` is checked: a tenth of it, between
    /// 10 and 100 ms, so a loss is found within about a tenth of the
    /// timeout after it happens.
    pub fn period_for(timeout: Duration) -> Duration {
        (timeout / 10).clamp(Duration::from_millis(10), Duration::from_millis(100))
    }

    /// Start checking `sink`'s operator link (set up with
    /// [`RemoteKillSink::with_operator_link`]).
    pub fn spawn(sink: Arc<RemoteKillSink>, shared: Arc<OperatorShared>) -> std::io::Result<OperatorWatchdog> {
        let period = Self::period_for(sink.operator_timeout().unwrap_or(super::DEFAULT_OPERATOR_HEARTBEAT));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("operator-watchdog".into()).spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                if let Some(loss) = sink.tick_operator(shared.level()) {
                    shared.put_loss(loss);
                }
                std::thread::sleep(period);
            }
        })?;
        Ok(OperatorWatchdog { stop, thread: Some(thread) })
    }
}

impl Drop for OperatorWatchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
