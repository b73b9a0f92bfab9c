//! [`StopHolder`]: the host daemon keeps every operator stop standing
//! (`robot host --stop-key ROBOT=KEYFILE`).
//!
//! A robot refuses kill-switch messages older than its timestamp window
//! (30 s), so a retained engage alone stops only the robots that connect
//! within 30 s of it, and a broker that crashed before saving its retained
//! messages forgets it altogether. The fleet's stops therefore live in the
//! host database (`robot host kill` records one before publishing, `robot
//! host release` deletes it before signing), and the holder re-signs an
//! engage for every recorded stop each `period` (10 s, well inside the
//! window) and publishes it retained: a robot that connects at any moment,
//! or a broker restarted from an old snapshot, gets a fresh stop within one
//! period. Nothing is held in the daemon's memory, so any host instance
//! sharing the database holds the same stops.
//!
//! Release ordering: the holder signs under the same issuer and counter file
//! as `robot host kill|release` (the counter file is locked while a counter
//! is taken) and checks the database again *after* signing. If its counter
//! is above the release's, the release deleted the stop before the holder
//! took that counter, so the second check sees it gone and nothing is
//! published; if it is below, the robot refuses the holder's engage as
//! replayed once it has the release. Either way a release is never undone
//! by a late re-sent engage.

use std::path::PathBuf;
use std::time::Duration;

use rumqttc::{AsyncClient, QoS};

use super::commands::KillAction;
use super::db::HostDb;
use super::kill_counter::{sign_kill, KillCounter};
use super::periodic::{Periodic, Shared};
use super::HostError;
use crate::remote::{system_wall_ms, KillKey};
use crate::sync::topics::{self, Leaf};
use crate::sync::BrokerConfig;

/// How often a standing stop is re-sent: a third of the robot's default
/// 30 s window, so one lost message never lets a stop go stale.
pub const DEFAULT_HOLD_PERIOD: Duration = Duration::from_secs(10);

/// A robot whose stops the host can sign.
#[derive(Debug, Clone)]
pub struct HoldTarget {
    pub robot_id: String,
    pub key: KillKey,
    /// The counter of `issuer` for this robot: the same file `robot host
    /// kill|release` use.
    pub counter: KillCounter,
}

/// What [`StopHolder::start`] needs.
#[derive(Debug, Clone)]
pub struct StopHoldConfig {
    pub broker: BrokerConfig,
    pub client_id: String,
    /// The issuer of `robot host kill|release` (`robot-host` by default).
    pub issuer: String,
    /// The host database whose `stops` table is the list of stops.
    pub db: PathBuf,
    pub period: Duration,
    pub targets: Vec<HoldTarget>,
    /// The wall clock the messages are stamped with.
    pub wall_ms: fn() -> u64,
}

impl StopHoldConfig {
    pub fn new(broker: BrokerConfig, client_id: impl Into<String>, issuer: impl Into<String>, db: PathBuf) -> Self {
        StopHoldConfig {
            broker,
            client_id: client_id.into(),
            issuer: issuer.into(),
            db,
            period: DEFAULT_HOLD_PERIOD,
            targets: Vec::new(),
            wall_ms: system_wall_ms,
        }
    }
}

/// The running holder (its own thread and MQTT connection); stops when
/// dropped.
#[derive(Debug)]
pub struct StopHolder {
    inner: Periodic,
}

impl StopHolder {
    /// Open the database and start. Errors in the settings and an
    /// unreadable database are reported here; later trouble is retried
    /// every period and shows in [`StopHolder::last_error`].
    pub fn start(c: StopHoldConfig) -> Result<StopHolder, HostError> {
        for t in &c.targets {
            topics::validate_robot_id(&t.robot_id)?;
        }
        let db = HostDb::open(&c.db)?;
        let opts = c.broker.mqtt_options(&c.client_id, None, true)?;
        let inner = Periodic::start("stop-hold", opts, c.period, move |client, sh| {
            for t in &c.targets {
                hold(client, &db, &c.issuer, t, (c.wall_ms)(), sh);
            }
        })?;
        Ok(StopHolder { inner })
    }

    /// Engages re-sent so far.
    pub fn sent(&self) -> u64 {
        self.inner.sent()
    }

    pub fn last_error(&self) -> Option<String> {
        self.inner.last_error()
    }
}

fn hold(client: &AsyncClient, db: &HostDb, issuer: &str, t: &HoldTarget, now_ms: u64, sh: &Shared) {
    let stopped = |sh: &Shared| match db.is_stopped(&t.robot_id) {
        Ok(s) => s,
        Err(e) => {
            sh.error(format!("stop of {}: {e}", t.robot_id));
            false
        }
    };
    if !stopped(sh) {
        return;
    }
    let bytes = match sign_kill(&t.key, &t.counter, &t.robot_id, issuer, KillAction::Kill, now_ms) {
        Ok(b) => b,
        Err(e) => return sh.error(format!("stop of {}: {e}", t.robot_id)),
    };
    // The second look, after the counter was taken (module docs): a release
    // that came in between wins, and the counter is a harmless gap.
    if stopped(sh) {
        // Retained, so it replaces the stale engage at the broker.
        match client.try_publish(topics::topic(&t.robot_id, Leaf::Kill), QoS::AtLeastOnce, true, bytes) {
            Ok(()) => sh.sent_one(),
            Err(e) => sh.error(format!("stop of {}: {e}", t.robot_id)),
        }
    }
    if let Err(e) = t.counter.sync() {
        sh.error(format!("stop counter for {}: {e}", t.robot_id));
    }
}
