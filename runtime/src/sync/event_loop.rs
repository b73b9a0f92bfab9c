//! The robot's network side: one tokio task owns the rumqttc event loop (the
//! socket, keep-alive pings, reconnects with backoff) and forwards what
//! happened over a bounded channel; one driver task owns the protocol state,
//! the outbox and every timer, and is the only writer of requests. The split
//! exists because `EventLoop::poll` is not cancel-safe (a write dropped half
//! way corrupts the stream), so it must never be a `select!` branch that
//! can lose; the driver's branches are all cancel-safe receives.
//!
//! The link runs on its own thread with a current-thread runtime
//! ([`RobotLink::start`]), so the synchronous runtime (executor, skills)
//! only sees channels: commands in, events and telemetry out, and the
//! kill-switch payloads handed to a [`KillSink`] the moment they arrive.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rumqttc::{AsyncClient, Event as MqttEvent, EventLoop, Packet, QoS, SubscribeFilter};
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::{Instant, MissedTickBehavior};

use super::backoff::{seed_from, Backoff, BackoffConfig};
use super::broker::{offline_will, BrokerConfig};
use super::outbox::{MergeOutcome, Outbox};
use super::protocol::{RobotSync, RobotSyncConfig};
use super::topics::{self, Leaf};
use super::wire::{self, Command, Event, MemoryAck, MemoryDown, Presence, Status, Telemetry, WIRE_VERSION};
use super::SyncError;

/// Where kill-switch payloads go: the remote kill-switch verifier. Called on
/// the link's thread for every message on `robots/<id>/kill`, with no queue
/// in between, so a kill is never dropped for lack of room; it must return
/// quickly (verify and latch, nothing else).
pub trait KillSink: Send + Sync + 'static {
    fn deliver(&self, robot_id: &str, payload: &[u8]);
}

/// A bounded channel works as a sink for tests and simple wiring; a full
/// channel drops the payload, which the caller sees in [`LinkStatus::kill_dropped`].
impl KillSink for std::sync::mpsc::SyncSender<Vec<u8>> {
    fn deliver(&self, _robot_id: &str, payload: &[u8]) {
        let _ = self.try_send(payload.to_vec());
    }
}

/// Tuning of the link.
#[derive(Debug, Clone)]
pub struct RobotLinkConfig {
    pub broker: BrokerConfig,
    /// The memory file (created by [`crate::memory::MemoryStore`]).
    pub memory_db: PathBuf,
    pub protocol: RobotSyncConfig,
    pub backoff: BackoffConfig,
    /// Seeds the reconnect jitter; the robot id hashed when `None`.
    pub jitter_seed: Option<u64>,
    /// How often the outbox is read for new records and timeouts checked
    /// (a [`RobotLink::memory_changed`] call reads it at once).
    pub poll_interval: Duration,
    pub telemetry_interval: Duration,
    /// Fleet places kept on the robot, at most.
    pub max_fleet_places: usize,
    /// The epoch a memory file gets the first time sync opens it.
    pub epoch_if_new: i64,
    /// Capacity of the command and event channels.
    pub channel_capacity: usize,
}

impl RobotLinkConfig {
    pub fn new(broker: BrokerConfig, memory_db: impl Into<PathBuf>, epoch_if_new: i64) -> RobotLinkConfig {
        RobotLinkConfig {
            broker,
            memory_db: memory_db.into(),
            protocol: RobotSyncConfig::default(),
            backoff: BackoffConfig::default(),
            jitter_seed: None,
            poll_interval: Duration::from_millis(500),
            telemetry_interval: Duration::from_secs(5),
            max_fleet_places: 1_000,
            epoch_if_new,
            channel_capacity: 32,
        }
    }
}

/// What the link is doing, for displays and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStatus {
    pub robot_id: String,
    pub connected: bool,
    pub connects: u64,
    pub disconnects: u64,
    /// The host holds every record up to here.
    pub acked: i64,
    pub last_seq: i64,
    pub batches_sent: u64,
    pub rewinds: u64,
    pub places_merged: u64,
    pub kills_delivered: u64,
    pub kill_dropped: u64,
    pub commands_dropped: u64,
    pub events_sent: u64,
    pub last_error: Option<String>,
}

/// A running link. Dropping it stops the link (without waiting).
pub struct RobotLink {
    thread: Option<JoinHandle<Result<(), SyncError>>>,
    shutdown: watch::Sender<bool>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    telemetry: watch::Sender<serde_json::Value>,
    status: watch::Receiver<LinkStatus>,
    kick: Arc<Notify>,
}

impl RobotLink {
    /// Open the outbox (errors here are reported at once) and start the
    /// link on its own thread.
    pub fn start(config: RobotLinkConfig, kill: Arc<dyn KillSink>) -> Result<RobotLink, SyncError> {
        let outbox = Outbox::open(&config.memory_db, config.epoch_if_new)?;
        let cap = config.channel_capacity.max(1);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (commands_tx, commands) = mpsc::channel(cap);
        let (events, events_rx) = mpsc::channel(cap);
        let (telemetry, telemetry_rx) = watch::channel(serde_json::Value::Null);
        let (status_tx, status) =
            watch::channel(LinkStatus { robot_id: outbox.robot_id().to_string(), ..Default::default() });
        let kick = Arc::new(Notify::new());
        let io = DriverIo {
            commands: commands_tx,
            events: events_rx,
            telemetry: telemetry_rx,
            status: status_tx,
            kick: kick.clone(),
            kill,
        };
        let thread = std::thread::Builder::new().name("mqtt-sync".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(run_robot(config, outbox, io, shutdown_rx))
        })?;
        Ok(RobotLink { thread: Some(thread), shutdown, commands, events, telemetry, status, kick })
    }

    /// The latest status.
    pub fn status(&self) -> LinkStatus {
        self.status.borrow().clone()
    }

    /// Wait (blocking this thread) until `pred` holds for the status, or the
    /// timeout passes; returns the last status seen and whether `pred` held.
    pub fn wait_status(&self, timeout: Duration, pred: impl Fn(&LinkStatus) -> bool) -> (LinkStatus, bool) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let s = self.status();
            if pred(&s) {
                return (s, true);
            }
            if std::time::Instant::now() >= deadline {
                return (s, false);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The memory store has new records: read the outbox now rather than at
    /// the next poll.
    pub fn memory_changed(&self) {
        self.kick.notify_one();
    }

    /// The next command from the host, if one is waiting.
    pub fn try_command(&mut self) -> Option<Command> {
        self.commands.try_recv().ok()
    }

    /// Queue an event for the host; a full queue hands it back (the caller
    /// decides whether it matters).
    pub fn send_event(&self, kind: &str, at_us: u64, detail: serde_json::Value) -> Result<(), Event> {
        let e = Event { v: WIRE_VERSION, kind: kind.to_string(), at_us, detail };
        self.events.try_send(e).map_err(|err| match err {
            mpsc::error::TrySendError::Full(e) | mpsc::error::TrySendError::Closed(e) => e,
        })
    }

    /// Replace the telemetry detail sent with the next telemetry message.
    pub fn set_telemetry(&self, detail: serde_json::Value) {
        self.telemetry.send_replace(detail);
    }

    /// Publish the offline status, disconnect, and wait for the thread.
    pub fn stop(mut self) -> Result<(), SyncError> {
        let _ = self.shutdown.send(true);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(SyncError::Mqtt("the sync thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for RobotLink {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// What the poller task reports.
#[derive(Debug)]
pub(crate) enum Polled {
    Connected,
    Disconnected(String),
    Publish { topic: String, payload: Vec<u8> },
}

/// Own the rumqttc event loop: poll it forever, forward what matters, sleep
/// the backoff between failed connections. Ends when the driver is gone.
pub(crate) async fn poll_mqtt(mut el: EventLoop, tx: mpsc::Sender<Polled>, mut backoff: Backoff) {
    loop {
        let out = match el.poll().await {
            Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                Polled::Connected
            }
            Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                Polled::Publish { topic: p.topic, payload: p.payload.to_vec() }
            }
            Ok(_) => continue,
            Err(e) => {
                if tx.send(Polled::Disconnected(e.to_string())).await.is_err() {
                    return;
                }
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
}

struct DriverIo {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
    telemetry: watch::Receiver<serde_json::Value>,
    status: watch::Sender<LinkStatus>,
    kick: Arc<Notify>,
    kill: Arc<dyn KillSink>,
}

struct Driver {
    robot_id: String,
    sm: RobotSync,
    outbox: Outbox,
    client: AsyncClient,
    io: DriverIo,
    start: Instant,
    max_fleet_places: usize,
    last_telemetry: Option<Instant>,
    telemetry_interval: Duration,
}

async fn run_robot(
    config: RobotLinkConfig,
    outbox: Outbox,
    io: DriverIo,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SyncError> {
    let robot_id = outbox.robot_id().to_string();
    let opts = config.broker.mqtt_options(&robot_id, Some(offline_will(&robot_id)?), true)?;
    // The request channel only ever holds one window of batches, a few
    // control messages and queued events; 64 leaves room for all of them.
    let (client, el) = AsyncClient::new(opts, 64);
    let backoff = Backoff::new(config.backoff, config.jitter_seed.unwrap_or_else(|| seed_from(&robot_id)));
    let (polled_tx, mut polled) = mpsc::channel(64);
    let poller = tokio::spawn(poll_mqtt(el, polled_tx, backoff));
    let sm = RobotSync::new(config.protocol, &robot_id, outbox.epoch(), outbox.acked()?, outbox.last_seq()?);
    let mut d = Driver {
        robot_id,
        sm,
        outbox,
        client,
        io,
        start: Instant::now(),
        max_fleet_places: config.max_fleet_places,
        last_telemetry: None,
        telemetry_interval: config.telemetry_interval,
    };
    let mut tick = tokio::time::interval(config.poll_interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let kick = d.io.kick.clone();
    loop {
        let connected = d.sm.is_connected();
        tokio::select! {
            // Cancel-safe: `recv` on an mpsc channel loses nothing when another
            // branch completes first; the message waits for the next turn.
            p = polled.recv() => match p {
                Some(p) => d.on_polled(p),
                None => break,
            },
            // Cancel-safe: an interval remembers a tick it could not deliver.
            _ = tick.tick() => {}
            // Cancel-safe: `notify_one` leaves a permit when nobody waits.
            _ = kick.notified() => {}
            // Cancel-safe mpsc receive; only while connected, so events wait
            // in their bounded channel (and back-pressure the sender) offline.
            Some(e) = d.io.events.recv(), if connected => d.publish_event(e),
            // Cancel-safe: `changed` only marks the value seen when it returns.
            _ = shutdown.changed() => break,
        }
        d.pump();
    }
    d.goodbye(&mut polled).await;
    poller.abort();
    Ok(())
}

impl Driver {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn set_status(&self, f: impl FnOnce(&mut LinkStatus)) {
        self.io.status.send_modify(f);
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) {
        let msg = format!("{what}: {e}");
        self.set_status(|s| s.last_error = Some(msg));
    }

    fn on_polled(&mut self, p: Polled) {
        match p {
            Polled::Connected => {
                self.sm.on_connected(self.now_ms());
                let filters = [Leaf::MemoryAck, Leaf::MemoryDown, Leaf::Commands, Leaf::Kill]
                    .map(|l| SubscribeFilter::new(topics::topic(&self.robot_id, l), QoS::AtLeastOnce));
                if let Err(e) = self.client.try_subscribe_many(filters) {
                    self.error("subscribe", e);
                }
                self.publish_status(Presence::Online);
                self.last_telemetry = None;
                self.set_status(|s| {
                    s.connected = true;
                    s.connects += 1;
                });
            }
            Polled::Disconnected(e) => {
                let was = self.sm.is_connected();
                self.sm.on_disconnected();
                self.set_status(|s| {
                    s.connected = false;
                    s.disconnects += u64::from(was);
                    s.last_error = Some(e);
                });
            }
            Polled::Publish { topic, payload } => self.on_publish(&topic, &payload),
        }
    }

    fn on_publish(&mut self, topic: &str, payload: &[u8]) {
        let Some((id, leaf)) = topics::parse(topic) else { return };
        if id != self.robot_id {
            return;
        }
        match leaf {
            Leaf::Kill => {
                // First, before any parsing of ours: the verifier owns the format.
                self.io.kill.deliver(&self.robot_id, payload);
                self.set_status(|s| s.kills_delivered += 1);
            }
            Leaf::MemoryAck => match wire::decode::<MemoryAck>(payload) {
                Ok(ack) => {
                    if let Some(through) = self.sm.on_ack(&ack, self.now_ms()) {
                        if let Err(e) = self.outbox.set_acked(through) {
                            self.error("persist ack", e);
                        }
                        self.set_status(|s| s.acked = through);
                    }
                }
                Err(e) => self.error("ack", e),
            },
            Leaf::MemoryDown => match wire::decode::<MemoryDown>(payload) {
                Ok(down) => match self.outbox.merge_places(&down.places, self.max_fleet_places) {
                    Ok(MergeOutcome { applied, .. }) => self.set_status(|s| s.places_merged += applied as u64),
                    Err(e) => self.error("merge places", e),
                },
                Err(e) => self.error("memory down", e),
            },
            Leaf::Commands => match wire::decode::<Command>(payload) {
                Ok(c) if c.text.len() <= wire::MAX_COMMAND_BYTES => {
                    if self.io.commands.try_send(c).is_err() {
                        self.set_status(|s| s.commands_dropped += 1);
                    }
                }
                Ok(_) => self.error("command", "longer than the command limit"),
                Err(e) => self.error("command", e),
            },
            _ => {}
        }
    }

    /// Send what the protocol allows: time out stale batches, then read and
    /// publish batches while the window has room; telemetry when due.
    fn pump(&mut self) {
        let now = self.now_ms();
        self.sm.on_tick(now);
        match self.outbox.last_seq() {
            Ok(last) => {
                self.sm.note_last_seq(last);
                self.set_status(|s| s.last_seq = last);
            }
            Err(e) => self.error("outbox", e),
        }
        let c = self.sm.config();
        while let Some(after) = self.sm.want_batch() {
            let batch = match self.outbox.read_batch(after, c.batch_records, c.batch_bytes) {
                Ok(b) => b,
                Err(e) => {
                    self.error("outbox", e);
                    break;
                }
            };
            let Some(up) = self.sm.on_batch(batch, now) else { break };
            match wire::encode(&up) {
                Ok(bytes) => {
                    let topic = topics::topic(&self.robot_id, Leaf::MemoryUp);
                    // A full request channel leaves the batch in flight
                    // unsent; the ack timeout sends it again.
                    if let Err(e) = self.client.try_publish(topic, QoS::AtLeastOnce, false, bytes) {
                        self.error("publish", e);
                        break;
                    }
                }
                Err(e) => {
                    self.error("encode batch", e);
                    break;
                }
            }
        }
        let st = self.sm.stats();
        self.set_status(|s| {
            s.batches_sent = st.batches_sent;
            s.rewinds = st.rewinds;
        });
        if self.sm.is_connected() && self.last_telemetry.is_none_or_elapsed(self.telemetry_interval) {
            self.last_telemetry = Some(Instant::now());
            self.publish_telemetry(now);
        }
    }

    fn publish_telemetry(&mut self, now_ms: u64) {
        let last = self.io.status.borrow().last_seq;
        let t = Telemetry {
            v: WIRE_VERSION,
            at_us: now_ms.saturating_mul(1000),
            outbox_pending: (last - self.sm.acked()).max(0),
            acked_through: self.sm.acked(),
            detail: self.io.telemetry.borrow().clone(),
        };
        if let Ok(bytes) = wire::encode(&t) {
            let _ =
                self.client.try_publish(topics::topic(&self.robot_id, Leaf::Telemetry), QoS::AtMostOnce, false, bytes);
        }
    }

    fn publish_event(&mut self, e: Event) {
        match wire::encode(&e) {
            Ok(bytes) => {
                let topic = topics::topic(&self.robot_id, Leaf::Events);
                match self.client.try_publish(topic, QoS::AtLeastOnce, false, bytes) {
                    Ok(()) => self.set_status(|s| s.events_sent += 1),
                    Err(err) => self.error("event", err),
                }
            }
            Err(err) => self.error("event", err),
        }
    }

    fn publish_status(&self, state: Presence) {
        if let Ok(bytes) = wire::encode(&Status { v: WIRE_VERSION, state }) {
            let topic = topics::topic(&self.robot_id, Leaf::Status);
            if let Err(e) = self.client.try_publish(topic, QoS::AtLeastOnce, true, bytes) {
                self.error("status", e);
            }
        }
    }

    /// Leave cleanly: the retained offline status (a clean disconnect does
    /// not fire the last will), then DISCONNECT, giving the poller up to a
    /// second to write both.
    async fn goodbye(&mut self, polled: &mut mpsc::Receiver<Polled>) {
        if self.sm.is_connected() {
            self.publish_status(Presence::Offline);
            let _ = self.client.try_disconnect();
            let deadline = Instant::now() + Duration::from_secs(1);
            // Cancel-safe: a timed-out `recv` loses nothing that matters; the
            // link is closing and unread messages are dropped with it.
            while let Ok(Some(p)) = tokio::time::timeout_at(deadline, polled.recv()).await {
                if matches!(p, Polled::Disconnected(_)) {
                    break;
                }
            }
        }
        self.set_status(|s| s.connected = false);
    }
}

trait DueExt {
    fn is_none_or_elapsed(&self, every: Duration) -> bool;
}

impl DueExt for Option<Instant> {
    fn is_none_or_elapsed(&self, every: Duration) -> bool {
        self.is_none_or(|t| t.elapsed() >= every)
    }
}
