//! One-shot messages from the host to one robot: a command (text or a
//! program) and the kill-switch messages. Each connects, publishes at QoS 1,
//! waits for the broker's PUBACK (the broker has it) and disconnects.
//!
//! Commands are not retained and robots use clean sessions, so a command
//! sent while a robot is offline is not run later by surprise; `robot host
//! send` warns when the fleet view says the robot is offline. Kill-switch
//! messages are retained, so a robot that reconnects sees the latest kill or
//! release at once.

use std::time::Duration;

use rumqttc::{AsyncClient, Event as MqttEvent, Packet, QoS};

use super::HostError;
use crate::sync::topics::{self, Leaf};
use crate::sync::wire::{self, Command, WIRE_VERSION};
use crate::sync::BrokerConfig;

/// The largest kill-switch payload published.
pub const MAX_KILL_PAYLOAD: usize = 4 * 1024;

/// Which way the kill switch goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillAction {
    Kill,
    Release,
    /// An operator heartbeat (sent by [`super::OperatorBeat`], never
    /// retained).
    Heartbeat,
}

/// The payload published on `robots/<id>/kill` for `robot host kill` /
/// `robot host release`.
///
/// `signed` is a message signed for the remote kill-switch (`crate::remote`;
/// by [`super::sign_kill`] or by an external tool), whose verifier on the
/// robot receives these exact bytes through [`crate::sync::KillSink`]. This
/// function does not look inside; it only refuses what cannot be a kill
/// message (empty, or over [`MAX_KILL_PAYLOAD`]).
pub fn kill_switch_payload(action: KillAction, signed: &[u8]) -> Result<Vec<u8>, HostError> {
    if signed.is_empty() {
        return Err(HostError::Invalid(format!("{action:?}: the signed kill-switch message is empty")));
    }
    if signed.len() > MAX_KILL_PAYLOAD {
        return Err(HostError::Invalid(format!(
            "{action:?}: the signed kill-switch message is {} bytes (limit {MAX_KILL_PAYLOAD})",
            signed.len()
        )));
    }
    Ok(signed.to_vec())
}

/// The payload of a command; `id` names it in the robot's events.
pub fn command_payload(id: &str, text: &str) -> Result<Vec<u8>, HostError> {
    let text = text.trim();
    if text.is_empty() || text.len() > wire::MAX_COMMAND_BYTES {
        return Err(HostError::Invalid(format!("a command needs 1 to {} bytes of text", wire::MAX_COMMAND_BYTES)));
    }
    Ok(wire::encode(&Command { v: WIRE_VERSION, id: id.to_string(), text: text.to_string() })?)
}

/// Publish one message and wait until the broker acknowledges it.
pub async fn publish_once(
    broker: &BrokerConfig,
    client_id: &str,
    topic: String,
    payload: Vec<u8>,
    retain: bool,
    timeout: Duration,
) -> Result<(), HostError> {
    let opts = broker.mqtt_options(client_id, None, true)?;
    let (client, mut el) = AsyncClient::new(opts, 4);
    client.try_publish(topic, QoS::AtLeastOnce, retain, payload).map_err(|e| HostError::Mqtt(e.to_string()))?;
    let work = async {
        loop {
            match el.poll().await {
                Ok(MqttEvent::Incoming(Packet::PubAck(_))) => {
                    let _ = client.try_disconnect();
                    // Drive the DISCONNECT out; the broker closes afterwards.
                    for _ in 0..4 {
                        if el.poll().await.is_err() {
                            break;
                        }
                    }
                    return Ok(());
                }
                Ok(_) => {}
                Err(e) => return Err(HostError::Mqtt(e.to_string())),
            }
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| HostError::Timeout(format!("no acknowledgement from {}:{}", broker.host, broker.port)))?
}

/// [`publish_once`] from synchronous code (the CLI).
pub fn publish_blocking(
    broker: &BrokerConfig,
    client_id: &str,
    robot_id: &str,
    leaf: Leaf,
    payload: Vec<u8>,
    timeout: Duration,
) -> Result<(), HostError> {
    topics::validate_robot_id(robot_id)?;
    let retain = leaf == Leaf::Kill;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(publish_once(broker, client_id, topics::topic(robot_id, leaf), payload, retain, timeout))
}
