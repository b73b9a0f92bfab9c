//! Running as a systemd service (`robot run` without a program, started by
//! `packaging/robot.service`): the sd_notify messages systemd expects from a
//! `Type=notify` unit with `WatchdogSec=`, and the watchdog's bookkeeping.
//!
//! `READY=1` goes out once the board is initialised and the kill-switch line
//! is watched, so `systemctl start robot` returns only when the robot is
//! really up. `WATCHDOG=1` is sent by the control loop itself, and only while
//! it judges itself healthy ([`Watchdog::should_ping`]): a loop that hangs,
//! or a worker it supervises that died, stops the pings and systemd kills
//! and restarts the service. A worker that is alive but stuck (a device
//! call that never returns) is caught by [`WorkerLiveness`]: idle, it checks
//! in every loop turn; busy, it declares how long the program may take at
//! most (the executor bounds every step by its timeout and retries), and a
//! worker past that bound is judged hung. `STOPPING=1` announces an orderly
//! shutdown.
//! Without `NOTIFY_SOCKET` (a terminal, a test) every message is a no-op.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// systemd's advice: ping at half the watchdog timeout, so one late tick
/// does not kill a healthy service.
const PING_FRACTION: u32 = 2;

/// Talks to systemd through `NOTIFY_SOCKET`, when the service manager set one.
#[derive(Debug, Clone)]
pub struct Notifier {
    enabled: bool,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` as systemd
    /// sets them for the service's main process.
    pub fn from_env() -> Notifier {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty());
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        let watchdog =
            if enabled { watchdog_timeout(usec.as_deref(), pid.as_deref(), std::process::id()) } else { None };
        Notifier { enabled, watchdog }
    }

    /// A notifier that sends nothing (for runs outside systemd).
    pub fn disabled() -> Notifier {
        Notifier { enabled: false, watchdog: None }
    }

    /// Whether a service manager listens.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The watchdog timeout systemd enforces (`WatchdogSec=`), if any.
    pub fn watchdog_timeout(&self) -> Option<Duration> {
        self.watchdog
    }

    /// `READY=1` with a human status line (`systemctl status` shows it).
    pub fn ready(&self, status: &str) -> std::io::Result<()> {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)])
    }

    /// A new status line, e.g. when the kill switch engages.
    pub fn status(&self, status: &str) -> std::io::Result<()> {
        self.send(&[NotifyState::Status(status)])
    }

    /// `WATCHDOG=1`: the control loop is alive and healthy.
    pub fn watchdog(&self) -> std::io::Result<()> {
        self.send(&[NotifyState::Watchdog])
    }

    /// `STOPPING=1`: an orderly shutdown has begun.
    pub fn stopping(&self, status: &str) -> std::io::Result<()> {
        self.send(&[NotifyState::Stopping, NotifyState::Status(status)])
    }

    fn send(&self, states: &[NotifyState]) -> std::io::Result<()> {
        if !self.enabled {
            return Ok(());
        }
        // The environment stays set: the control loop sends for the
        // process's whole life, and children (none today) are not services.
        sd_notify::notify(false, states)
    }
}

/// The watchdog timeout from systemd's variables, like libsystemd's
/// `sd_watchdog_enabled`: `WATCHDOG_USEC` must be a positive number, and
/// `WATCHDOG_PID`, when set, must name this process (a variable inherited
/// by a child is not meant for it).
pub fn watchdog_timeout(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    match pid {
        Some(p) if p.trim().parse::<u32>().ok() != Some(me) => None,
        _ => Some(Duration::from_micros(usec)),
    }
}

/// When the control loop pings the watchdog.
#[derive(Debug, Clone)]
pub struct Watchdog {
    interval: Duration,
    last_ping: Option<Instant>,
}

impl Watchdog {
    /// For a service whose watchdog fires after `timeout` without a ping.
    pub fn new(timeout: Duration) -> Watchdog {
        Watchdog { interval: timeout / PING_FRACTION, last_ping: None }
    }

    /// How often pings go out; the control loop must tick at least this often.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Called by the control loop on every tick with its own verdict on
    /// everything it supervises; `true`: send `WATCHDOG=1` now. An unhealthy
    /// loop never pings, so systemd's watchdog fires after its timeout.
    pub fn should_ping(&mut self, now: Instant, healthy: bool) -> bool {
        if !healthy {
            return false;
        }
        let due = self.last_ping.is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            self.last_ping = Some(now);
        }
        due
    }
}

/// How long an idle worker may go without checking in: its loop wakes
/// every 100 ms, so this is dozens of missed turns.
pub const IDLE_STALL: Duration = Duration::from_secs(5);

/// Added to a busy worker's own bound before it is judged hung (planning,
/// recording, and a loaded machine).
pub const BUSY_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    Idle { seen: Instant },
    Busy { since: Instant, until: Instant },
}

/// Why the control loop judges the worker hung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// Idle, and not seen for this long.
    Silent(Duration),
    /// Busy this long, past its bound plus [`BUSY_GRACE`].
    Overdue(Duration),
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stall::Silent(d) => write!(f, "the idle worker has not checked in for {:.1} s", d.as_secs_f64()),
            Stall::Overdue(d) => {
                write!(f, "the worker has been running one command for {:.1} s, past its bound", d.as_secs_f64())
            }
        }
    }
}

/// What the control loop knows of the worker, shared between the two
/// threads. Times are passed in, never read here.
#[derive(Debug)]
pub struct WorkerLiveness {
    activity: Mutex<Activity>,
}

impl WorkerLiveness {
    pub fn new(now: Instant) -> WorkerLiveness {
        WorkerLiveness { activity: Mutex::new(Activity::Idle { seen: now }) }
    }

    fn set(&self, a: Activity) {
        *self.activity.lock().unwrap_or_else(|p| p.into_inner()) = a;
    }

    /// The worker is idle and alive (every turn of its loop).
    pub fn idle(&self, now: Instant) {
        self.set(Activity::Idle { seen: now });
    }

    /// The worker starts something that takes at most `bound`.
    pub fn busy(&self, now: Instant, bound: Duration) {
        let until = now.checked_add(bound.saturating_add(BUSY_GRACE)).unwrap_or(now + Duration::from_secs(86_400));
        self.set(Activity::Busy { since: now, until });
    }

    /// The control loop's verdict at `now`.
    pub fn check(&self, now: Instant) -> Result<(), Stall> {
        match *self.activity.lock().unwrap_or_else(|p| p.into_inner()) {
            Activity::Idle { seen } => {
                let quiet = now.saturating_duration_since(seen);
                if quiet > IDLE_STALL {
                    return Err(Stall::Silent(quiet));
                }
            }
            Activity::Busy { since, until } => {
                if now > until {
                    return Err(Stall::Overdue(now.saturating_duration_since(since)));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_timeout_follows_sd_watchdog_enabled() {
        assert_eq!(watchdog_timeout(Some("10000000"), None, 42), Some(Duration::from_secs(10)));
        assert_eq!(watchdog_timeout(Some("500000"), Some("42"), 42), Some(Duration::from_millis(500)));
        assert_eq!(watchdog_timeout(Some("500000"), Some("7"), 42), None, "another process's watchdog");
        assert_eq!(watchdog_timeout(Some("0"), None, 42), None);
        assert_eq!(watchdog_timeout(Some("ten"), None, 42), None);
        assert_eq!(watchdog_timeout(None, Some("42"), 42), None);
    }

    #[test]
    fn healthy_loop_pings_at_half_the_timeout() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(Duration::from_secs(10));
        assert_eq!(w.interval(), Duration::from_secs(5));
        assert!(w.should_ping(t0, true), "the first healthy tick pings");
        assert!(!w.should_ping(t0 + Duration::from_secs(1), true));
        assert!(!w.should_ping(t0 + Duration::from_millis(4999), true));
        assert!(w.should_ping(t0 + Duration::from_secs(5), true));
        assert!(!w.should_ping(t0 + Duration::from_secs(6), true));
    }

    #[test]
    fn unhealthy_loop_never_pings() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(Duration::from_secs(2));
        assert!(w.should_ping(t0, true));
        for s in 1..30 {
            assert!(!w.should_ping(t0 + Duration::from_secs(s), false), "tick {s}");
        }
        // Health restored before systemd gave up: pings resume at once.
        assert!(w.should_ping(t0 + Duration::from_secs(30), true));
    }

    #[test]
    fn disabled_notifier_sends_nothing_and_succeeds() {
        let n = Notifier::disabled();
        assert!(!n.is_enabled());
        assert_eq!(n.watchdog_timeout(), None);
        n.ready("up").expect("no-op");
        n.watchdog().expect("no-op");
        n.stopping("bye").expect("no-op");
    }

    #[test]
    fn a_worker_is_hung_when_silent_or_past_its_bound() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let w = WorkerLiveness::new(t0);
        assert_eq!(w.check(s(5)), Ok(()));
        assert_eq!(w.check(s(6)), Err(Stall::Silent(Duration::from_secs(6))));
        w.idle(s(6));
        assert_eq!(w.check(s(7)), Ok(()));
        // A 60 s program: fine through its bound and the grace, hung after.
        w.busy(s(10), Duration::from_secs(60));
        assert_eq!(w.check(s(10 + 60 + 10)), Ok(()));
        assert_eq!(w.check(s(10 + 60 + 11)), Err(Stall::Overdue(Duration::from_secs(71))));
        assert!(w.check(s(10 + 60 + 11)).unwrap_err().to_string().contains("71.0 s"));
        // Back to idle: healthy again.
        w.idle(s(90));
        assert_eq!(w.check(s(91)), Ok(()));
        // An absurd bound does not overflow.
        w.busy(s(92), Duration::MAX);
        assert_eq!(w.check(s(50_000)), Ok(()));
    }
}
