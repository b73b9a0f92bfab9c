//! Running as a systemd service (`robot run` without a program, started by
//! `packaging/robot.service`): the sd_notify messages systemd expects from a
//! `Type=notify` unit with `WatchdogSec=`, and the watchdog's bookkeeping.
//!
//! `READY=1` goes out once the board is initialised and the kill-switch line
//! is watched, so `systemctl start robot` returns only when the robot is
//! really up. `WATCHDOG=1` is sent by the control loop itself, and only while
//! it judges itself healthy ([`Watchdog::should_ping`]): a loop that hangs,
//! or a worker it supervises that died, stops the pings and systemd kills
//! and restarts the service. `STOPPING=1` announces an orderly shutdown.
//! Without `NOTIFY_SOCKET` (a terminal, a test) every message is a no-op.

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
        let due = self.last_ping.map_or(true, |last| now.saturating_duration_since(last) >= self.interval);
        if due {
            self.last_ping = Some(now);
        }
        due
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
}
