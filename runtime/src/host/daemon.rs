//! The host daemon's network side, built like the robot's link
//! ([`crate::sync::event_loop`]): a poller task owns the rumqttc event loop,
//! a driver applies what arrives to the [`HostDb`] and publishes acks and
//! fleet places. It runs on its own thread ([`HostDaemon::start`]).
//!
//! Subscriptions: `memory/up`, `events` and `telemetry` of every robot go
//! through the shared-subscription group when one is configured (each
//! message reaches one host); `status` never does, because brokers do not
//! deliver retained messages to shared subscriptions and a host starting up
//! needs the retained presence of every robot. The writes a status causes
//! are idempotent, so several hosts receiving it is harmless.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, QoS, SubscribeFilter};
use tokio::sync::{mpsc, watch};

use super::db::HostDb;
use super::HostError;
use crate::sync::backoff::{seed_from, Backoff, BackoffConfig};
use crate::sync::event_loop::{poll_mqtt, Polled};
use crate::sync::topics::{self, Leaf};
use crate::sync::wire::{self, Event, FleetPlace, MemoryDown, MemoryUp, Presence, Status, Telemetry, WIRE_VERSION};
use crate::sync::BrokerConfig;

/// Fleet places per memory/down message; 200 places of about 150 bytes each
/// stay far below the payload limit.
const PLACES_PER_MESSAGE: usize = 200;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub broker: BrokerConfig,
    /// This instance's MQTT client id (unique per instance).
    pub client_id: String,
    pub db: PathBuf,
    /// The MQTT 5 shared-subscription group of the host instances, if several run.
    pub share_group: Option<String>,
    pub backoff: BackoffConfig,
}

impl HostConfig {
    pub fn new(broker: BrokerConfig, db: impl Into<PathBuf>) -> HostConfig {
        HostConfig {
            broker,
            client_id: "robot-host".into(),
            db: db.into(),
            share_group: None,
            backoff: BackoffConfig::default(),
        }
    }
}

/// Counters of a running daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostStatus {
    pub connected: bool,
    pub connects: u64,
    pub batches: u64,
    pub records_new: u64,
    pub duplicates: u64,
    pub gaps: u64,
    /// Records whose key was already taken: must stay 0.
    pub conflicts: u64,
    pub refused: u64,
    pub places_pushed: u64,
    pub last_error: Option<String>,
}

/// A running host daemon.
pub struct HostDaemon {
    thread: Option<JoinHandle<Result<(), HostError>>>,
    shutdown: watch::Sender<bool>,
    status: watch::Receiver<HostStatus>,
}

impl HostDaemon {
    /// Open the database (errors are reported at once) and start the daemon.
    pub fn start(config: HostConfig) -> Result<HostDaemon, HostError> {
        let db = HostDb::open(&config.db)?;
        if let Some(g) = &config.share_group {
            topics::validate_robot_id(g).map_err(|_| HostError::Invalid(format!("share group `{g}`")))?;
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (status_tx, status) = watch::channel(HostStatus::default());
        let thread = std::thread::Builder::new().name("mqtt-host".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(run_host(config, db, status_tx, shutdown_rx))
        })?;
        Ok(HostDaemon { thread: Some(thread), shutdown, status })
    }

    pub fn status(&self) -> HostStatus {
        self.status.borrow().clone()
    }

    /// Whether the daemon thread has ended (an error, or after `stop`).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or_finished()
    }

    /// Disconnect and wait for the thread.
    pub fn stop(mut self) -> Result<(), HostError> {
        let _ = self.shutdown.send(true);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(HostError::Mqtt("the host thread panicked".into())),
            None => Ok(()),
        }
    }
}

trait FinishedExt {
    fn is_none_or_finished(&self) -> bool;
}

impl<T> FinishedExt for Option<&JoinHandle<T>> {
    fn is_none_or_finished(&self) -> bool {
        self.is_none_or(|h| h.is_finished())
    }
}

impl Drop for HostDaemon {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn wall_ms() -> i64 {
    // The daemon's one wall-clock read: when a record arrived, for display.
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

async fn run_host(
    config: HostConfig,
    mut db: HostDb,
    status: watch::Sender<HostStatus>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), HostError> {
    let opts = config.broker.mqtt_options(&config.client_id, None, false)?;
    // Room for a burst of acks and fleet-place pushes; a full channel is
    // reported and the robots concerned resend after their ack timeout.
    let (client, el) = AsyncClient::new(opts, 1024);
    let (tx, mut polled) = mpsc::channel(64);
    let poller = tokio::spawn(poll_mqtt(el, tx, Backoff::new(config.backoff, seed_from(&config.client_id))));
    let group = config.share_group.as_deref();
    loop {
        tokio::select! {
            // Cancel-safe: an mpsc receive that loses the race keeps its message.
            p = polled.recv() => match p {
                Some(Polled::Connected) => {
                    let shared = [Leaf::MemoryUp, Leaf::Events, Leaf::Telemetry]
                        .map(|l| SubscribeFilter::new(topics::all_robots(l, group), QoS::AtLeastOnce));
                    let status_filter = SubscribeFilter::new(topics::all_robots(Leaf::Status, None), QoS::AtLeastOnce);
                    let r = client.try_subscribe_many(shared.into_iter().chain([status_filter]));
                    // Announce where this host stands to every known robot:
                    // batches a robot sent while no host was subscribed are
                    // lost, and this non-advancing ack makes it resend at
                    // once instead of after its ack timeout.
                    if let Err(e) = announce(&db, &client) {
                        status.send_modify(|s| s.last_error = Some(e.to_string()));
                    }
                    status.send_modify(|s| {
                        s.connected = true;
                        s.connects += 1;
                        if let Err(e) = r {
                            s.last_error = Some(format!("subscribe: {e}"));
                        }
                    });
                }
                Some(Polled::Disconnected(e)) => status.send_modify(|s| {
                    s.connected = false;
                    s.last_error = Some(e);
                }),
                Some(Polled::Publish { topic, payload }) => {
                    if let Err(e) = on_publish(&mut db, &client, &status, &topic, &payload) {
                        status.send_modify(|s| s.last_error = Some(e.to_string()));
                    }
                }
                None => break,
            },
            // Cancel-safe: `changed` marks the value seen only when it returns.
            _ = shutdown.changed() => break,
        }
    }
    let _ = client.try_disconnect();
    // Give the poller a moment to write the DISCONNECT.
    // Cancel-safe: the link is closing; whatever is unread is dropped.
    let _ = tokio::time::timeout(Duration::from_millis(500), async { while polled.recv().await.is_some() {} }).await;
    poller.abort();
    status.send_modify(|s| s.connected = false);
    Ok(())
}

fn on_publish(
    db: &mut HostDb,
    client: &AsyncClient,
    status: &watch::Sender<HostStatus>,
    topic: &str,
    payload: &[u8],
) -> Result<(), HostError> {
    let Some((robot, leaf)) = topics::parse(topic) else { return Ok(()) };
    let now = wall_ms();
    match leaf {
        Leaf::MemoryUp => {
            let up: MemoryUp = match wire::decode(payload) {
                Ok(u) => u,
                Err(e) => {
                    status.send_modify(|s| s.refused += 1);
                    return Err(e.into());
                }
            };
            let applied = match db.apply_up(robot, &up, now) {
                Ok(a) => a,
                Err(e @ HostError::Batch(_)) => {
                    status.send_modify(|s| s.refused += 1);
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            // The ack goes out only after the commit: an acked record is on disk.
            let ack = wire::encode(&applied.ack)?;
            client
                .try_publish(topics::topic(robot, Leaf::MemoryAck), QoS::AtLeastOnce, false, ack)
                .map_err(|e| HostError::Mqtt(e.to_string()))?;
            status.send_modify(|s| {
                s.batches += 1;
                s.records_new += applied.new_records as u64;
                s.duplicates += applied.duplicates as u64;
                s.conflicts += applied.conflicts as u64;
                s.gaps += u64::from(applied.verdict == crate::sync::protocol::Verdict::Gap);
            });
            if !applied.fleet_changes.is_empty() {
                for other in db.online_robots()?.iter().filter(|r| r.as_str() != robot) {
                    push_places(client, status, other, &applied.fleet_changes)?;
                }
            }
        }
        Leaf::Status => {
            let st: Status = wire::decode(payload)?;
            db.set_presence(robot, st.state, now)?;
            if st.state == Presence::Online {
                // A robot coming online gets every fleet place; its merge
                // ignores the ones it already has.
                let places: Vec<FleetPlace> = db.fleet_places()?.into_iter().filter(|p| p.origin != robot).collect();
                push_places(client, status, robot, &places)?;
            }
        }
        Leaf::Telemetry => db.set_telemetry(robot, &wire::decode::<Telemetry>(payload)?, now)?,
        Leaf::Events => db.add_event(robot, &wire::decode::<Event>(payload)?, now)?,
        _ => {}
    }
    Ok(())
}

/// A non-advancing ack to every robot the database says is online. If the
/// request channel fills up, the rest fall back on their ack timeout.
fn announce(db: &HostDb, client: &AsyncClient) -> Result<(), HostError> {
    for r in db.robots()?.into_iter().filter(|r| r.presence == "online") {
        let Some(epoch) = r.epoch else { continue };
        let ack = wire::encode(&crate::sync::protocol::ack(epoch, r.held_through))?;
        client
            .try_publish(topics::topic(&r.robot_id, Leaf::MemoryAck), QoS::AtLeastOnce, false, ack)
            .map_err(|e| HostError::Mqtt(e.to_string()))?;
    }
    Ok(())
}

fn push_places(
    client: &AsyncClient,
    status: &watch::Sender<HostStatus>,
    robot: &str,
    places: &[FleetPlace],
) -> Result<(), HostError> {
    for chunk in places.chunks(PLACES_PER_MESSAGE) {
        let msg = wire::encode(&MemoryDown { v: WIRE_VERSION, places: chunk.to_vec() })?;
        client
            .try_publish(topics::topic(robot, Leaf::MemoryDown), QoS::AtLeastOnce, false, msg)
            .map_err(|e| HostError::Mqtt(e.to_string()))?;
        status.send_modify(|s| s.places_pushed += chunk.len() as u64);
    }
    Ok(())
}
