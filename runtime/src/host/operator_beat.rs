//! [`OperatorBeat`]: the host's operator heartbeats (`robot host
//! --heartbeat ROBOT=KEYFILE`).
//!
//! At L0 to L3 a robot needs a reachable operator and stops when its
//! operator link goes silent (docs/remote-kill.md, "Operator link
//! heartbeat"). The host is that operator's console: every `period` it
//! signs a `heartbeat` kill-switch message for each robot it watches (with
//! the robot's key and a persisted counter, [`sign_kill`]) and publishes it on the robot's kill topic at QoS 0
//! without the retain flag, so it never replaces a retained stop. Only
//! signed heartbeats count on the robot: anyone else who can reach the
//! broker cannot keep a robot running after its operator is gone. A
//! heartbeat that is lost is simply superseded by the next one; the robot's
//! timeout (the board's `operator_heartbeat_s`, 2 s by default) should be
//! several periods long.

use std::time::Duration;

use rumqttc::{AsyncClient, QoS};

use super::commands::KillAction;
use super::kill_counter::{sign_kill, KillCounter};
use super::periodic::{Periodic, Shared};
use super::HostError;
use crate::remote::{system_wall_ms, KillKey};
use crate::sync::topics::{self, Leaf};
use crate::sync::BrokerConfig;

/// How often heartbeats go out when not configured: four per default
/// robot timeout (2 s), so one lost packet does not stop a robot.
pub const DEFAULT_BEAT_PERIOD: Duration = Duration::from_millis(500);

/// One robot the host beats for.
#[derive(Debug, Clone)]
pub struct BeatTarget {
    pub robot_id: String,
    pub key: KillKey,
    pub counter: KillCounter,
}

/// What [`OperatorBeat::start`] needs.
#[derive(Debug, Clone)]
pub struct OperatorBeatConfig {
    pub broker: BrokerConfig,
    pub client_id: String,
    /// The `issuer` of every heartbeat (the robot keeps counters per issuer).
    /// Use one that signs nothing else: a heartbeat sent on this connection
    /// can overtake a stop signed earlier and published on another one, and
    /// under the same issuer it would make the robot refuse the stop as
    /// replayed.
    pub issuer: String,
    pub period: Duration,
    pub targets: Vec<BeatTarget>,
    /// The wall clock the messages are stamped with.
    pub wall_ms: fn() -> u64,
}

impl OperatorBeatConfig {
    pub fn new(broker: BrokerConfig, client_id: impl Into<String>, issuer: impl Into<String>) -> OperatorBeatConfig {
        OperatorBeatConfig {
            broker,
            client_id: client_id.into(),
            issuer: issuer.into(),
            period: DEFAULT_BEAT_PERIOD,
            targets: Vec::new(),
            wall_ms: system_wall_ms,
        }
    }
}

/// The running heartbeat sender (its own thread and MQTT connection);
/// stops when dropped.
#[derive(Debug)]
pub struct OperatorBeat {
    inner: Periodic,
}

impl OperatorBeat {
    /// Connect and start beating. Errors in the settings are reported here;
    /// network trouble later is retried and shows in
    /// [`OperatorBeat::last_error`].
    pub fn start(c: OperatorBeatConfig) -> Result<OperatorBeat, HostError> {
        for t in &c.targets {
            topics::validate_robot_id(&t.robot_id)?;
        }
        let opts = c.broker.mqtt_options(&c.client_id, None, true)?;
        let inner = Periodic::start("operator-beat", opts, c.period, move |client, sh| {
            for t in &c.targets {
                beat(client, &c.issuer, t, (c.wall_ms)(), sh);
            }
        })?;
        Ok(OperatorBeat { inner })
    }

    /// Heartbeats handed to the connection so far.
    pub fn sent(&self) -> u64 {
        self.inner.sent()
    }

    pub fn last_error(&self) -> Option<String> {
        self.inner.last_error()
    }
}

fn beat(client: &AsyncClient, issuer: &str, t: &BeatTarget, now_ms: u64, sh: &Shared) {
    let bytes = match sign_kill(&t.key, &t.counter, &t.robot_id, issuer, KillAction::Heartbeat, now_ms) {
        Ok(b) => b,
        Err(e) => return sh.error(format!("heartbeat for {}: {e}", t.robot_id)),
    };
    // QoS 0, not retained: a late heartbeat is worth nothing, and a retained
    // one would replace a retained stop at the broker.
    match client.try_publish(topics::topic(&t.robot_id, Leaf::Kill), QoS::AtMostOnce, false, bytes) {
        Ok(()) => sh.sent_one(),
        Err(e) => sh.error(format!("heartbeat for {}: {e}", t.robot_id)),
    }
    if let Err(e) = t.counter.sync() {
        sh.error(format!("heartbeat counter for {}: {e}", t.robot_id));
    }
}
