//! The serial link: one I/O thread that owns the port, and the handles that
//! talk to it.
//!
//! The thread runs the [`Protocol`] state machine against the real port:
//! it reads with a short timeout, feeds the bytes in, writes frames out,
//! retransmits when [`Protocol::poll`] says so, and sends a `GetState`
//! heartbeat when idle so liveness and the kill-switch line are always
//! fresh. Callers reach it through a bounded `sync_channel` and wait for
//! their reply with a deadline, so no caller can hang on a dead port.
//!
//! The kill-switch does not use that channel: [`super::SerialSafeStop`]
//! stores `EStop` (or `Rearm`) in an atomic slot the thread checks before
//! every write, so an e-stop never queues behind motion commands.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::board::SerialConfig;
use crate::ErrorKind;

use super::messages::{McuState, NackCode, Reply, Request};
use super::protocol::{Action, Completion, LinkStats, Protocol, ProtocolConfig, Slot};

/// Commands the request channel holds before callers see back-pressure.
const QUEUE_DEPTH: usize = 8;
/// Completions a client's reply channel buffers (its own plus stale ones).
const REPLY_DEPTH: usize = 4;

const PRIORITY_NONE: u8 = 0;
const PRIORITY_ESTOP: u8 = 1;
const PRIORITY_REARM: u8 = 2;

/// Timing of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkTimeouts {
    /// Wait for a reply before retransmitting.
    pub reply_timeout: Duration,
    /// Retransmissions before a request fails with `Timeout`.
    pub max_retries: u8,
    /// Silence (while expecting replies) after which the peer counts as
    /// disconnected.
    pub disconnect_after: Duration,
    /// Idle interval between `GetState` heartbeats; `None` disables them.
    pub heartbeat: Option<Duration>,
    /// Port read timeout: the longest the thread sleeps between checks of
    /// the request queue and the priority slot.
    pub poll_interval: Duration,
}

impl Default for LinkTimeouts {
    fn default() -> Self {
        let p = ProtocolConfig::default();
        Self {
            reply_timeout: p.reply_timeout,
            max_retries: p.max_retries,
            disconnect_after: p.disconnect_after,
            heartbeat: Some(Duration::from_millis(100)),
            poll_interval: Duration::from_millis(1),
        }
    }
}

impl LinkTimeouts {
    /// Defaults with the board file's reply timeout; the disconnect
    /// threshold scales with it.
    pub fn from_config(cfg: &SerialConfig) -> Self {
        let reply_timeout = Duration::from_millis(cfg.timeout_ms.max(1));
        Self { reply_timeout, disconnect_after: reply_timeout * 10, ..Self::default() }
    }

    /// The longest a caller waits for one request: every retransmission,
    /// plus one reply timeout for queueing and scheduling slack.
    pub fn call_budget(&self) -> Duration {
        self.reply_timeout * (u32::from(self.max_retries) + 2) + self.poll_interval * 4
    }

    fn protocol(&self) -> ProtocolConfig {
        ProtocolConfig {
            reply_timeout: self.reply_timeout,
            max_retries: self.max_retries,
            disconnect_after: self.disconnect_after,
        }
    }
}

/// Errors of the serial link and of every device handle on it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SerialError {
    #[error("cannot open serial port {port}: {reason}")]
    Open { port: String, reason: String },
    #[error("no reply from the co-processor in time")]
    Timeout,
    #[error("co-processor disconnected")]
    Disconnected,
    #[error("refused: the kill-switch latch is engaged")]
    Refused,
    #[error("{what} {value} is outside the limit {limit}")]
    OutOfRange { what: &'static str, value: f64, limit: f64 },
    #[error("co-processor rejected the request: {0:?}")]
    Nack(NackCode),
    #[error("unexpected reply {0:?}")]
    UnexpectedReply(Reply),
}

impl crate::Error for SerialError {
    fn kind(&self) -> ErrorKind {
        match self {
            SerialError::Open { .. } | SerialError::Disconnected => ErrorKind::Disconnected,
            SerialError::Timeout => ErrorKind::Timeout,
            SerialError::Refused | SerialError::Nack(NackCode::Estopped) => ErrorKind::Refused,
            SerialError::OutOfRange { .. } | SerialError::Nack(NackCode::OutOfRange) => ErrorKind::OutOfRange,
            SerialError::Nack(NackCode::Unsupported) => ErrorKind::Unsupported,
            SerialError::Nack(NackCode::Fault) | SerialError::UnexpectedReply(_) => ErrorKind::Fault,
        }
    }
}

impl SerialError {
    fn from_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Disconnected => SerialError::Disconnected,
            ErrorKind::Refused => SerialError::Refused,
            _ => SerialError::Timeout,
        }
    }
}

/// The latest `State` seen and how the kill-switch line has moved.
#[derive(Debug, Default)]
pub(crate) struct StateCache {
    pub last: Option<(McuState, Instant)>,
    /// Bumped on every change of the line level or of link health, so a
    /// waiter can tell a real wake-up from a spurious one.
    pub epoch: u64,
}

/// What the I/O thread and the handles share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The host-side kill-switch latch.
    pub latched: AtomicBool,
    priority: AtomicU8,
    shutdown: AtomicBool,
    /// The port returned a hard error; nothing will get through.
    port_dead: AtomicBool,
    /// The peer has been silent past the disconnect threshold.
    link_down: AtomicBool,
    stats: Mutex<LinkStats>,
    pub state: Mutex<StateCache>,
    pub state_changed: Condvar,
}

impl Shared {
    pub fn request_estop(&self) {
        self.latched.store(true, Ordering::SeqCst);
        self.priority.store(PRIORITY_ESTOP, Ordering::SeqCst);
    }

    pub fn request_rearm(&self) {
        self.latched.store(false, Ordering::SeqCst);
        self.priority.store(PRIORITY_REARM, Ordering::SeqCst);
    }

    pub fn is_latched(&self) -> bool {
        self.latched.load(Ordering::SeqCst)
    }

    /// Whether the link is known to be down (dead port or silent peer).
    pub fn is_down(&self) -> bool {
        self.port_dead.load(Ordering::SeqCst) || self.link_down.load(Ordering::SeqCst)
    }

    fn set_link_down(&self, down: bool) {
        if self.link_down.swap(down, Ordering::SeqCst) != down {
            lock(&self.state).epoch += 1;
            self.state_changed.notify_all();
        }
    }

    fn publish_state(&self, state: McuState, now: Instant) {
        let mut cache = lock(&self.state);
        let moved = cache.last.is_none_or(|(old, _)| old.estop_line_low != state.estop_line_low);
        cache.last = Some((state, now));
        if moved {
            cache.epoch += 1;
            self.state_changed.notify_all();
        }
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain
/// counters or a cached reading; the data is still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Command {
    request: Request,
    ticket: u64,
    deadline: Instant,
    reply: SyncSender<(u64, Result<Reply, ErrorKind>)>,
}

struct Inner {
    shared: Arc<Shared>,
    tx: SyncSender<Command>,
    timeouts: LinkTimeouts,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        if let Some(t) = lock(&self.thread).take() {
            // The thread only returns; a panic in it has already been
            // reported and there is nothing left to clean up.
            let _ = t.join();
        }
    }
}

/// An open link to the co-processor. Cheap to clone; the I/O thread stops
/// when the last clone (and every handle made from it) is dropped.
#[derive(Clone)]
pub struct SerialLink {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SerialLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialLink").field("timeouts", &self.inner.timeouts).finish()
    }
}

impl SerialLink {
    /// Open the port named in the board file.
    pub fn open(cfg: &SerialConfig) -> Result<Self, SerialError> {
        let timeouts = LinkTimeouts::from_config(cfg);
        let port = serialport::new(&cfg.port, cfg.baud)
            .timeout(timeouts.poll_interval)
            .open()
            .map_err(|e| SerialError::Open { port: cfg.port.clone(), reason: e.to_string() })?;
        Self::from_port(port, timeouts)
    }

    /// Run the link over an already open port (a pty in tests).
    pub fn from_port(mut port: Box<dyn serialport::SerialPort>, timeouts: LinkTimeouts) -> Result<Self, SerialError> {
        let name = port.name().unwrap_or_else(|| "serial".into());
        let open_err = |e: &dyn std::fmt::Display| SerialError::Open { port: name.clone(), reason: e.to_string() };
        port.set_timeout(timeouts.poll_interval).map_err(|e| open_err(&e))?;
        let shared = Arc::new(Shared::default());
        let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
        let io = IoThread {
            port,
            proto: Protocol::new(timeouts.protocol()),
            rx,
            shared: shared.clone(),
            timeouts,
            current: None,
            last_heartbeat: Instant::now(),
        };
        let thread =
            std::thread::Builder::new().name("serial-link".into()).spawn(move || io.run()).map_err(|e| open_err(&e))?;
        Ok(Self { inner: Arc::new(Inner { shared, tx, timeouts, thread: Mutex::new(Some(thread)) }) })
    }

    /// A handle that sends requests and waits for their replies.
    pub fn client(&self) -> LinkClient {
        let (reply_tx, reply_rx) = mpsc::sync_channel(REPLY_DEPTH);
        LinkClient { link: self.clone(), reply_tx, reply_rx, ticket: 0 }
    }

    pub fn stats(&self) -> LinkStats {
        *lock(&self.inner.shared.stats)
    }

    pub fn timeouts(&self) -> LinkTimeouts {
        self.inner.timeouts
    }

    /// The most recent `State` the co-processor sent, and when.
    pub fn last_state(&self) -> Option<(McuState, Instant)> {
        lock(&self.inner.shared.state).last
    }

    /// Whether the host-side kill-switch latch is engaged.
    pub fn is_latched(&self) -> bool {
        self.inner.shared.is_latched()
    }

    /// Whether the link is known to be down.
    pub fn is_down(&self) -> bool {
        self.inner.shared.is_down()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }
}

/// Sends requests over a [`SerialLink`] and waits for each reply. Each
/// device handle owns one, with its own reply channel, so nothing is
/// allocated per request.
pub struct LinkClient {
    link: SerialLink,
    reply_tx: SyncSender<(u64, Result<Reply, ErrorKind>)>,
    reply_rx: Receiver<(u64, Result<Reply, ErrorKind>)>,
    ticket: u64,
}

impl std::fmt::Debug for LinkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkClient").field("ticket", &self.ticket).finish()
    }
}

impl LinkClient {
    pub fn link(&self) -> &SerialLink {
        &self.link
    }

    /// Send a request and wait for its reply, at most
    /// [`LinkTimeouts::call_budget`].
    pub fn request(&mut self, request: Request) -> Result<Reply, SerialError> {
        let inner = &self.link.inner;
        if inner.shared.port_dead.load(Ordering::SeqCst) {
            return Err(SerialError::Disconnected);
        }
        // Replies to earlier calls that gave up are still in the channel.
        while self.reply_rx.try_recv().is_ok() {}
        self.ticket += 1;
        let deadline = Instant::now() + inner.timeouts.call_budget();
        let mut cmd = Command { request, ticket: self.ticket, deadline, reply: self.reply_tx.clone() };
        loop {
            match inner.tx.try_send(cmd) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return Err(SerialError::Disconnected),
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return Err(SerialError::Timeout);
                    }
                    cmd = back;
                    std::thread::sleep(inner.timeouts.poll_interval);
                }
            }
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.reply_rx.recv_timeout(left) {
                Ok((ticket, result)) if ticket == self.ticket => {
                    return result.map_err(SerialError::from_kind);
                }
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(if inner.shared.is_down() { SerialError::Disconnected } else { SerialError::Timeout });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(SerialError::Disconnected),
            }
        }
    }

    /// Send a command that is answered with `Ack`; a `Nack` is an error.
    pub fn command(&mut self, request: Request) -> Result<(), SerialError> {
        match self.request(request)? {
            Reply::Ack { .. } => Ok(()),
            Reply::Nack { code, .. } => Err(SerialError::Nack(code)),
            other => Err(SerialError::UnexpectedReply(other)),
        }
    }

    /// Ask for a fresh `State`.
    pub fn state(&mut self) -> Result<McuState, SerialError> {
        match self.request(Request::GetState)? {
            Reply::State { state, .. } => Ok(state),
            Reply::Nack { code, .. } => Err(SerialError::Nack(code)),
            other => Err(SerialError::UnexpectedReply(other)),
        }
    }
}

/// Who is waiting for the request in the normal slot.
enum Waiter {
    Caller { ticket: u64, reply: SyncSender<(u64, Result<Reply, ErrorKind>)> },
    Heartbeat,
}

struct IoThread {
    port: Box<dyn serialport::SerialPort>,
    proto: Protocol,
    rx: Receiver<Command>,
    shared: Arc<Shared>,
    timeouts: LinkTimeouts,
    current: Option<Waiter>,
    last_heartbeat: Instant,
}

impl IoThread {
    fn run(mut self) {
        let mut buf = [0u8; 256];
        while !self.shared.shutdown.load(Ordering::SeqCst) {
            if self.shared.port_dead.load(Ordering::SeqCst) {
                self.refuse_queued();
                std::thread::sleep(self.timeouts.poll_interval * 5);
                continue;
            }
            self.send_priority();
            self.start_next();
            match self.port.read(&mut buf) {
                Ok(0) => {}
                Ok(n) => {
                    let now = Instant::now();
                    for c in self.proto.receive(&buf[..n], now) {
                        self.complete(c, now);
                    }
                }
                Err(e) if is_transient(&e) => {}
                Err(_) => self.port_failed(),
            }
            let now = Instant::now();
            for action in self.proto.poll(now) {
                match action {
                    Action::Resend(wire) => self.write(&wire),
                    Action::Complete(c) => self.complete(c, now),
                }
            }
            self.shared.set_link_down(self.proto.is_disconnected(now));
            *lock(&self.shared.stats) = self.proto.stats();
        }
    }

    /// Send the pending kill-switch request, if any. Called before every
    /// write of a normal request, so an e-stop never waits behind one.
    fn send_priority(&mut self) {
        let request = match self.shared.priority.swap(PRIORITY_NONE, Ordering::SeqCst) {
            PRIORITY_ESTOP => Request::EStop,
            PRIORITY_REARM => Request::Rearm,
            _ => return,
        };
        if let Ok((_, wire)) = self.proto.start(Slot::Priority, request, Instant::now()) {
            self.write(&wire);
        }
    }

    /// Start the next queued request, or a heartbeat when idle.
    fn start_next(&mut self) {
        if self.proto.is_busy() {
            return;
        }
        let now = Instant::now();
        let (request, waiter) = match self.rx.try_recv() {
            Ok(cmd) => {
                let refusal = if now >= cmd.deadline {
                    // The caller has given up; a late motion command must
                    // not reach the motors.
                    Some(ErrorKind::Timeout)
                } else if cmd.request.is_motion() && self.shared.is_latched() {
                    Some(ErrorKind::Refused)
                } else {
                    None
                };
                if let Some(kind) = refusal {
                    let _ = cmd.reply.try_send((cmd.ticket, Err(kind)));
                    return;
                }
                (cmd.request, Waiter::Caller { ticket: cmd.ticket, reply: cmd.reply })
            }
            Err(_) => match self.timeouts.heartbeat {
                Some(every) if now.saturating_duration_since(self.last_heartbeat) >= every => {
                    (Request::GetState, Waiter::Heartbeat)
                }
                _ => return,
            },
        };
        self.last_heartbeat = now;
        self.send_priority();
        match self.proto.start(Slot::Normal, request, now) {
            Ok((_, wire)) => {
                self.current = Some(waiter);
                self.write(&wire);
            }
            Err(_) => {
                if let Waiter::Caller { ticket, reply } = waiter {
                    let _ = reply.try_send((ticket, Err(ErrorKind::Other)));
                }
            }
        }
    }

    fn complete(&mut self, c: Completion, now: Instant) {
        // Publish first, so a caller that checks stats after its reply
        // sees the frames that led to it.
        *lock(&self.shared.stats) = self.proto.stats();
        self.shared.set_link_down(self.proto.is_disconnected(now));
        if let Ok(Reply::State { state, .. }) = c.result {
            self.shared.publish_state(state, now);
            // The co-processor lost its latch (reset, brown-out) while the
            // host is still latched: latch it again.
            if self.shared.is_latched() && !state.estopped && !self.proto.priority_pending() {
                self.shared
                    .priority
                    .compare_exchange(PRIORITY_NONE, PRIORITY_ESTOP, Ordering::SeqCst, Ordering::SeqCst)
                    .ok();
            }
        }
        if c.slot == Slot::Normal {
            if let Some(Waiter::Caller { ticket, reply }) = self.current.take() {
                // A full channel means the caller left; dropping is right.
                let _ = reply.try_send((ticket, c.result));
            }
        }
    }

    fn write(&mut self, wire: &[u8]) {
        match self.port.write_all(wire) {
            Ok(()) => {}
            // A partial frame is harmless: the next frame's leading zero
            // resynchronises the peer, and the protocol will retransmit.
            Err(e) if is_transient(&e) => {}
            Err(_) => self.port_failed(),
        }
    }

    fn port_failed(&mut self) {
        self.shared.port_dead.store(true, Ordering::SeqCst);
        for c in self.proto.fail_all(ErrorKind::Disconnected) {
            self.complete(c, Instant::now());
        }
        self.shared.set_link_down(true);
        *lock(&self.shared.stats) = self.proto.stats();
    }

    fn refuse_queued(&mut self) {
        while let Ok(cmd) = self.rx.try_recv() {
            let _ = cmd.reply.try_send((cmd.ticket, Err(ErrorKind::Disconnected)));
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}
