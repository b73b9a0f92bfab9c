//! The latch itself: an atomic flag, the actuators' safe-stop handles, and
//! an allocation-free queue of safety events for the flight recorder.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heapless::mpmc::Q32;
use robot_hal::capability::SafeStop;
use robot_hal::{DeviceError, ErrorKind};

/// Why the latch engaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Cause {
    /// The hardware kill-switch line was pressed (or read as pressed: a
    /// broken wire or an unreadable line counts as pressed).
    Line = 1,
    /// A remote operator sent an authenticated stop.
    Remote = 2,
    /// Software asked for it (a rule violation, a fault, an operator command).
    Software = 3,
}

impl Cause {
    fn from_u8(n: u8) -> Option<Cause> {
        match n {
            1 => Some(Cause::Line),
            2 => Some(Cause::Remote),
            3 => Some(Cause::Software),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Line => "kill-switch line",
            Cause::Remote => "remote stop",
            Cause::Software => "software stop",
        }
    }
}

/// Something the safety path did, queued for the flight recorder. Fixed
/// size and `Copy` so the engaging thread never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SafetyEvent {
    LinePressed,
    LineReleased,
    LineUnreadable(ErrorKind),
    Engaged(Cause),
    /// Index into the latch's actuator list.
    ActuatorSafe(u8),
    ActuatorFailed(u8, ErrorKind),
    Reset,
}

/// Proof that a human operator asked for the reset. Only operator-facing
/// front ends (the CLI's `reset` command, an authenticated host release)
/// construct it; nothing in the runtime's own control flow does.
#[derive(Debug)]
pub struct OperatorReset {
    pub operator: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResetError {
    #[error("the kill-switch line is still pressed")]
    LinePressed,
    #[error("the kill-switch line has been released for {released_ms} ms; it must stay released for {required_ms} ms")]
    NotDebounced { released_ms: u64, required_ms: u64 },
    #[error("actuator `{name}` did not rearm: {error}")]
    Rearm { name: String, error: DeviceError },
}

/// The kill-switch latch.
pub struct Latch {
    engaged: AtomicBool,
    cause: AtomicU8,
    stops: Vec<Arc<dyn SafeStop>>,
    epoch: Instant,
    /// Wall-clock nanoseconds since `epoch` when every actuator was last
    /// commanded safe (0 = never).
    all_safe_ns: AtomicU64,
    /// Line state as last seen by the monitor: pressed, and since when it is
    /// released (ns since epoch, 0 = pressed or unknown).
    line_pressed: AtomicBool,
    line_released_since_ns: AtomicU64,
    has_line: AtomicBool,
    debounce: Duration,
    events: Q32<SafetyEvent>,
    /// Serialises engage against reset so a reset can never interleave with
    /// an engage half-way through forcing actuators; engage holds it only
    /// while it forces the actuators itself.
    transition: Mutex<()>,
}

impl std::fmt::Debug for Latch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latch").field("engaged", &self.is_engaged()).field("cause", &self.cause()).finish()
    }
}

impl Latch {
    /// A latch over these actuators. `debounce` is how long the line must
    /// read released before a reset is accepted.
    pub fn new(stops: Vec<Arc<dyn SafeStop>>, debounce: Duration) -> Arc<Latch> {
        Arc::new(Latch {
            engaged: AtomicBool::new(false),
            cause: AtomicU8::new(0),
            stops,
            epoch: Instant::now(),
            all_safe_ns: AtomicU64::new(0),
            line_pressed: AtomicBool::new(false),
            line_released_since_ns: AtomicU64::new(1),
            has_line: AtomicBool::new(false),
            debounce,
            events: Q32::new(),
            transition: Mutex::new(()),
        })
    }

    fn now_ns(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    fn push(&self, e: SafetyEvent) {
        // A full queue drops the oldest-unread news, never blocks the stop:
        // the latch state itself is authoritative, the queue is for the log.
        let _ = self.events.enqueue(e);
    }

    /// Engage the latch and command every actuator safe, from this thread.
    /// Idempotent; returns whether this call engaged it.
    pub fn engage(&self, cause: Cause) -> bool {
        // The flag goes first so every guarded write after this instant is
        // refused even while the actuators are still being forced.
        let first = !self.engaged.swap(true, Ordering::SeqCst);
        if first {
            self.cause.store(cause as u8, Ordering::SeqCst);
            self.push(SafetyEvent::Engaged(cause));
        }
        // On a repeated engage (the monitor re-engages on every read while
        // the line stays pressed) force only actuators that are not latched
        // safe: a failed or lost force gets another chance without flooding
        // a bus with stop commands.
        let _guard = self.transition.lock().unwrap_or_else(|p| p.into_inner());
        for (i, s) in self.stops.iter().enumerate() {
            if !first && s.is_safe() {
                continue;
            }
            let idx = i.min(255) as u8;
            match s.force_safe() {
                Ok(()) => {
                    if first {
                        self.push(SafetyEvent::ActuatorSafe(idx))
                    }
                }
                Err(e) => self.push(SafetyEvent::ActuatorFailed(idx, e.kind)),
            }
        }
        // Stored last: a reader that sees `all_safe_at` also sees every
        // event of this engagement in the queue.
        if first {
            self.all_safe_ns.store(self.now_ns(), Ordering::SeqCst);
        }
        first
    }

    pub fn is_engaged(&self) -> bool {
        self.engaged.load(Ordering::SeqCst)
    }

    pub fn cause(&self) -> Option<Cause> {
        if self.is_engaged() {
            Cause::from_u8(self.cause.load(Ordering::SeqCst))
        } else {
            None
        }
    }

    /// Refuse an actuator write while engaged. Skills call this before every
    /// command; the device's own latch closes the race with a concurrent engage.
    pub fn check_write(&self) -> Result<(), DeviceError> {
        if self.is_engaged() {
            Err(DeviceError::new(ErrorKind::Refused, "kill-switch engaged"))
        } else {
            Ok(())
        }
    }

    /// Wall-clock instant at which every actuator was commanded safe by the
    /// current engagement (`None` when not engaged or still forcing).
    pub fn all_safe_at(&self) -> Option<Instant> {
        match self.all_safe_ns.load(Ordering::SeqCst) {
            0 => None,
            ns => Some(self.epoch + Duration::from_nanos(ns)),
        }
    }

    /// Names of the actuators this latch commands.
    pub fn actuator_names(&self) -> Vec<String> {
        self.stops.iter().map(|s| s.name().to_string()).collect()
    }

    pub fn actuator_name(&self, idx: u8) -> &str {
        self.stops.get(idx as usize).map(|s| s.name()).unwrap_or("?")
    }

    /// Called by the line monitor with each level it reads.
    pub(crate) fn observe_line(&self, pressed: bool) {
        self.has_line.store(true, Ordering::SeqCst);
        let was = self.line_pressed.swap(pressed, Ordering::SeqCst);
        if pressed {
            self.line_released_since_ns.store(0, Ordering::SeqCst);
            if !was {
                self.push(SafetyEvent::LinePressed);
            }
        } else if was || self.line_released_since_ns.load(Ordering::SeqCst) == 0 {
            self.line_released_since_ns.store(self.now_ns(), Ordering::SeqCst);
            self.push(SafetyEvent::LineReleased);
        }
    }

    pub(crate) fn note(&self, e: SafetyEvent) {
        self.push(e)
    }

    /// Whether the line reads pressed now (false when no line is monitored).
    pub fn line_pressed(&self) -> bool {
        self.line_pressed.load(Ordering::SeqCst)
    }

    /// Clear the latch. Needs an operator's explicit request and, when a
    /// line is monitored, the line released for the debounce time. Rearms
    /// every actuator; it does not restart any motion.
    pub fn reset(&self, _who: OperatorReset) -> Result<(), ResetError> {
        let _guard = self.transition.lock().unwrap_or_else(|p| p.into_inner());
        if self.has_line.load(Ordering::SeqCst) {
            if self.line_pressed.load(Ordering::SeqCst) {
                return Err(ResetError::LinePressed);
            }
            let since = self.line_released_since_ns.load(Ordering::SeqCst);
            if since == 0 {
                return Err(ResetError::LinePressed);
            }
            let released = Duration::from_nanos(self.now_ns().saturating_sub(since));
            if released < self.debounce {
                return Err(ResetError::NotDebounced {
                    released_ms: released.as_millis() as u64,
                    required_ms: self.debounce.as_millis() as u64,
                });
            }
        }
        for s in &self.stops {
            s.rearm();
        }
        self.all_safe_ns.store(0, Ordering::SeqCst);
        self.engaged.store(false, Ordering::SeqCst);
        self.cause.store(0, Ordering::SeqCst);
        self.push(SafetyEvent::Reset);
        Ok(())
    }

    /// Take the safety events queued since the last call (for the recorder).
    pub fn drain_events(&self) -> Vec<SafetyEvent> {
        let mut out = Vec::new();
        while let Some(e) = self.events.dequeue() {
            out.push(e);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[derive(Default)]
    struct Stop {
        forced: AtomicUsize,
        safe: AtomicBool,
    }

    impl SafeStop for Stop {
        fn name(&self) -> &str {
            "test"
        }
        fn force_safe(&self) -> Result<(), DeviceError> {
            self.forced.fetch_add(1, Ordering::SeqCst);
            self.safe.store(true, Ordering::SeqCst);
            Ok(())
        }
        fn is_safe(&self) -> bool {
            self.safe.load(Ordering::SeqCst)
        }
        fn rearm(&self) {
            self.safe.store(false, Ordering::SeqCst);
        }
    }

    fn latch(debounce_ms: u64) -> (Arc<Latch>, Arc<Stop>) {
        let stop = Arc::new(Stop::default());
        (Latch::new(vec![stop.clone() as Arc<dyn SafeStop>], Duration::from_millis(debounce_ms)), stop)
    }

    fn op() -> OperatorReset {
        OperatorReset { operator: "test".into() }
    }

    #[test]
    fn engage_forces_every_actuator_and_refuses_writes() {
        let (l, stop) = latch(0);
        assert!(l.check_write().is_ok());
        assert!(l.engage(Cause::Software));
        assert!(!l.engage(Cause::Line), "second engage is not a new engagement");
        assert!(stop.is_safe());
        assert_eq!(l.cause(), Some(Cause::Software));
        assert_eq!(l.check_write().unwrap_err().kind, ErrorKind::Refused);
        assert!(l.all_safe_at().is_some());
        let events = l.drain_events();
        assert_eq!(events[0], SafetyEvent::Engaged(Cause::Software));
        assert!(events.contains(&SafetyEvent::ActuatorSafe(0)));
    }

    #[test]
    fn reset_needs_the_line_released_for_the_debounce_time() {
        let (l, stop) = latch(30);
        l.observe_line(true);
        l.engage(Cause::Line);
        assert_eq!(l.reset(op()), Err(ResetError::LinePressed));
        l.observe_line(false);
        assert!(matches!(l.reset(op()), Err(ResetError::NotDebounced { .. })));
        std::thread::sleep(Duration::from_millis(40));
        l.reset(op()).unwrap();
        assert!(!l.is_engaged());
        assert!(!stop.is_safe(), "rearmed");
        assert!(l.all_safe_at().is_none(), "a new engagement gets a fresh timestamp");
    }

    #[test]
    fn repeated_engage_only_reforces_actuators_that_are_not_safe() {
        let (l, stop) = latch(0);
        l.engage(Cause::Line);
        l.engage(Cause::Line);
        assert_eq!(stop.forced.load(Ordering::SeqCst), 1);
        // Something un-latched the actuator behind the latch's back: the
        // next engage forces it again.
        stop.safe.store(false, Ordering::SeqCst);
        l.engage(Cause::Line);
        assert_eq!(stop.forced.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_new_engagement_after_reset_is_timed_afresh() {
        let (l, _) = latch(0);
        l.engage(Cause::Software);
        let first = l.all_safe_at().unwrap();
        l.reset(op()).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        l.engage(Cause::Software);
        assert!(l.all_safe_at().unwrap() > first);
    }
}
