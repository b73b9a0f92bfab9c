//! `robot host`: the fleet host. Without a subcommand it runs the daemon
//! (mirroring every robot's memory into `--db`, starting the embedded demo
//! broker unless `--mqtt` names another); the subcommands read the fleet
//! view and send commands and kill-switch messages. Also the `--mqtt` side
//! of `robot sim` ([`start_sim_sync`]). Design: docs/sync.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use robot_runtime::host::commands::{self, KillAction};
use robot_runtime::host::{HostConfig, HostDaemon, HostDb};
use robot_runtime::memory::{MemoryStore, StoreConfig};
use robot_runtime::session::SimSession;
use robot_runtime::sync::broker::DEFAULT_URL;
use robot_runtime::sync::topics::Leaf;
use robot_runtime::sync::{BrokerConfig, KillSink, RobotLink, RobotLinkConfig};

#[derive(Args)]
pub struct HostArgs {
    #[command(subcommand)]
    what: Option<HostWhat>,
    /// The host database (the fleet's mirrored memory).
    #[arg(long, global = true, default_value = "fleet.db")]
    db: PathBuf,
    /// Broker URL, mqtt://host:port or mqtts://user@host:port (password in
    /// ROBOT_MQTT_PASSWORD). Default: the embedded broker on 127.0.0.1:1883.
    #[arg(long, global = true)]
    mqtt: Option<String>,
    /// PEM file of the CA that signed the broker's certificate (mqtts).
    #[arg(long, global = true)]
    mqtt_ca: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Where the embedded broker listens (daemon only; loopback by default,
    /// it has no authentication).
    #[arg(long, default_value = "127.0.0.1:1883")]
    embedded_broker: SocketAddr,
    /// Do not start the embedded broker even without --mqtt.
    #[arg(long)]
    no_embedded_broker: bool,
    /// MQTT 5 shared-subscription group, when several hosts share the load
    /// and the database.
    #[arg(long)]
    share_group: Option<String>,
    /// This host instance's MQTT client id (unique per instance).
    #[arg(long, default_value = "robot-host")]
    client_id: String,
}

#[derive(Subcommand)]
enum HostWhat {
    /// Run the daemon (the default).
    Run,
    /// The fleet: presence, sync progress, telemetry.
    Status,
    /// Send text or a program to a robot.
    Send { robot: String, text: String },
    /// Publish a signed kill message (retained) for a robot.
    Kill {
        robot: String,
        /// The message signed by the remote kill-switch tool.
        #[arg(long)]
        signed: PathBuf,
    },
    /// Publish a signed release message (retained) for a robot.
    Release {
        robot: String,
        #[arg(long)]
        signed: PathBuf,
    },
    /// Read a robot's mirrored memory.
    Memory {
        robot: String,
        #[command(subcommand)]
        what: MemoryWhat,
    },
}

#[derive(Subcommand)]
enum MemoryWhat {
    /// Records whose text contains the words (case-insensitive), newest first.
    Search {
        text: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

fn broker(url: Option<&str>, ca: Option<&Path>) -> anyhow::Result<BrokerConfig> {
    let mut b = BrokerConfig::parse(url.unwrap_or(DEFAULT_URL))?;
    b.ca_file = ca.map(Path::to_path_buf);
    Ok(b)
}

fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn open_db(db: &Path) -> anyhow::Result<HostDb> {
    if !db.is_file() {
        bail!("no host database at {} (run `robot host` first, or pass --db)", db.display());
    }
    HostDb::open(db).with_context(|| format!("cannot open {}", db.display()))
}

pub fn run(a: HostArgs) -> anyhow::Result<ExitCode> {
    let timeout = Duration::from_secs(10);
    match a.what {
        None | Some(HostWhat::Run) => daemon(&a),
        Some(HostWhat::Status) => {
            let rows = open_db(&a.db)?.robots()?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no robot has connected yet");
            } else {
                let now = wall_ms() as i64;
                println!(
                    "{:<20} {:<8} {:>10} {:>9} {:>9}  last seen",
                    "robot", "presence", "synced", "records", "pending"
                );
                for r in rows {
                    let pending = r
                        .telemetry
                        .as_ref()
                        .and_then(|t| t["outbox_pending"].as_i64())
                        .map_or("-".to_string(), |p| p.to_string());
                    let ago = (now - r.last_seen_ms).max(0) / 1000;
                    println!(
                        "{:<20} {:<8} {:>10} {:>9} {:>9}  {ago} s ago",
                        r.robot_id, r.presence, r.held_through, r.records, pending
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(HostWhat::Send { ref robot, ref text }) => {
            if let Ok(db) = HostDb::open(&a.db) {
                if !db.online_robots()?.iter().any(|r| r == robot) {
                    eprintln!("warning: `{robot}` is not online; commands are not kept for offline robots");
                }
            }
            let id = format!("cmd-{}", wall_ms());
            let payload = commands::command_payload(&id, text)?;
            let b = broker(a.mqtt.as_deref(), a.mqtt_ca.as_deref())?;
            commands::publish_blocking(&b, &format!("{}-send", a.client_id), robot, Leaf::Commands, payload, timeout)?;
            println!("sent {id} to {robot}");
            Ok(ExitCode::SUCCESS)
        }
        Some(HostWhat::Kill { ref robot, ref signed }) => kill(&a, robot, signed, KillAction::Kill),
        Some(HostWhat::Release { ref robot, ref signed }) => kill(&a, robot, signed, KillAction::Release),
        Some(HostWhat::Memory { ref robot, what: MemoryWhat::Search { ref text, limit } }) => {
            let rows = open_db(&a.db)?.search(robot, text, limit)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    println!("{:>8}  {:<8} {}", r.seq, r.kind, r.body);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn kill(a: &HostArgs, robot: &str, signed: &Path, action: KillAction) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(signed).with_context(|| format!("cannot read {}", signed.display()))?;
    let payload = commands::kill_switch_payload(action, &bytes)?;
    let b = broker(a.mqtt.as_deref(), a.mqtt_ca.as_deref())?;
    let id = format!("{}-kill", a.client_id);
    commands::publish_blocking(&b, &id, robot, Leaf::Kill, payload, Duration::from_secs(10))?;
    println!("{action:?} published for {robot} (retained)");
    Ok(ExitCode::SUCCESS)
}

fn daemon(a: &HostArgs) -> anyhow::Result<ExitCode> {
    let url = match (&a.mqtt, a.no_embedded_broker) {
        (Some(u), _) => u.clone(),
        (None, true) => DEFAULT_URL.to_string(),
        (None, false) => start_embedded(a.embedded_broker)?,
    };
    let b = broker(Some(&url), a.mqtt_ca.as_deref())?;
    let mut c = HostConfig::new(b, &a.db);
    c.client_id = a.client_id.clone();
    c.share_group = a.share_group.clone();
    let d = HostDaemon::start(c).with_context(|| format!("cannot start the host on {}", a.db.display()))?;
    println!("robot host: broker {url}, database {} (Ctrl-C stops)", a.db.display());
    let mut shown = None;
    while !d.is_finished() {
        std::thread::sleep(Duration::from_millis(500));
        let s = d.status();
        let line = format!(
            "{} | batches {} records {} duplicates {} gaps {} places pushed {}{}",
            if s.connected { "connected" } else { "connecting" },
            s.batches,
            s.records_new,
            s.duplicates,
            s.gaps,
            s.places_pushed,
            s.last_error.as_ref().map(|e| format!(" | last error: {e}")).unwrap_or_default()
        );
        if shown.as_ref() != Some(&line) {
            println!("{line}");
            shown = Some(line);
        }
    }
    d.stop()?;
    Ok(ExitCode::FAILURE)
}

#[cfg(feature = "embedded-broker")]
fn start_embedded(addr: SocketAddr) -> anyhow::Result<String> {
    let b = robot_runtime::host::embedded::start(addr)
        .with_context(|| format!("cannot start the embedded broker on {addr} (use --mqtt or --no-embedded-broker)"))?;
    println!("embedded MQTT broker on {} (no authentication: demo only)", b.addr);
    Ok(format!("mqtt://{}", b.addr))
}

#[cfg(not(feature = "embedded-broker"))]
fn start_embedded(_addr: SocketAddr) -> anyhow::Result<String> {
    bail!("this build has no embedded broker (feature `embedded-broker`); pass --mqtt URL")
}

/// INTEGRATION POINT (remote kill switch): where `robot sim --mqtt` sends
/// the bytes that arrive on `robots/<id>/kill`. Until the remote kill-switch
/// verifier (`robot_runtime::remote`) is connected here, it only reports that
/// a message arrived: it does not stop the robot.
struct UnwiredKillSink;

impl KillSink for UnwiredKillSink {
    fn deliver(&self, robot_id: &str, payload: &[u8]) {
        eprintln!("kill-switch message for {robot_id} ({} bytes) received; no verifier is wired", payload.len());
    }
}

/// `robot sim --mqtt [URL]`: attach a memory file if none was given
/// (`<out>/memory.db`, sync needs one on disk) and start the link. `None`
/// when `--mqtt` was not given.
pub fn start_sim_sync(
    mqtt: Option<&str>,
    memory: Option<&Path>,
    out: &Path,
    s: &mut SimSession,
) -> anyhow::Result<Option<RobotLink>> {
    let Some(url) = mqtt else { return Ok(None) };
    let db = match memory {
        Some(p) => p.to_path_buf(),
        None => {
            let p = out.join("memory.db");
            let cfg = StoreConfig { robot_id: s.executor.board.board.robot_id.clone(), ..Default::default() };
            let store =
                MemoryStore::open_with(&p, cfg).with_context(|| format!("cannot open memory {}", p.display()))?;
            s.executor.attach_memory(store)?;
            p
        }
    };
    let b = BrokerConfig::parse(url)?;
    let link = RobotLink::start(RobotLinkConfig::new(b, &db, wall_ms() as i64), Arc::new(UnwiredKillSink))
        .with_context(|| format!("cannot start memory sync for {}", db.display()))?;
    println!("memory sync: {url} (robot `{}`, memory {})", link.status().robot_id, db.display());
    Ok(Some(link))
}

/// Stop the link cleanly (the retained offline status goes out).
pub fn stop_sim_sync(link: Option<RobotLink>) {
    if let Some(l) = link {
        if let Err(e) = l.stop() {
            eprintln!("memory sync: {e}");
        }
    }
}
