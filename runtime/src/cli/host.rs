//! `robot host`: the fleet host. Without a subcommand it runs the daemon
//! (mirroring every robot's memory into `--db`, starting the embedded demo
//! broker unless `--mqtt` names another); the subcommands read the fleet
//! view and send commands and kill-switch messages (signed here with
//! `--key`, or pre-signed with `--signed`). Also the `--mqtt` side of `robot
//! sim` ([`start_sim_sync`]), including its remote kill-switch. Design:
//! docs/sync.md, docs/remote-kill.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use robot_runtime::host::commands::{self, KillAction};
use robot_runtime::host::operator_beat::BeatTarget;
use robot_runtime::host::{
    sign_kill, HoldTarget, HostConfig, HostDaemon, HostDb, KillCounter, OperatorBeat, OperatorBeatConfig,
    StopHoldConfig, StopHolder, DEFAULT_BEAT_PERIOD,
};
use robot_runtime::memory::{MemoryStore, StoreConfig};
use robot_runtime::recorder::Recorder;
use robot_runtime::remote::{
    FileStore, KillKey, OperatorShared, OperatorWatchdog, RemoteKill, RemoteKillSink, DEFAULT_OPERATOR_HEARTBEAT,
};
use robot_runtime::session::SimSession;
use robot_runtime::sync::broker::DEFAULT_URL;
use robot_runtime::sync::topics::Leaf;
use robot_runtime::sync::{BrokerConfig, RobotLink, RobotLinkConfig};

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
    /// Be the operator console for ROBOT (daemon only): send it signed
    /// operator heartbeats with its kill-switch key, ROBOT=KEYFILE;
    /// repeatable. A robot started with `robot sim --operator-link` stops
    /// at L0 to L3 when they stop coming (docs/remote-kill.md).
    #[arg(long, value_name = "ROBOT=KEYFILE")]
    heartbeat: Vec<String>,
    /// Keep ROBOT's operator stops standing (daemon only): while `robot
    /// host kill` has stopped it and no `robot host release` has cleared
    /// the stop, re-sign the engage every 10 s with its kill-switch key,
    /// ROBOT=KEYFILE, so a robot that connects at any moment, or a broker
    /// that lost its retained messages, still stops. Repeatable; the robots
    /// of --heartbeat are held too.
    #[arg(long, value_name = "ROBOT=KEYFILE")]
    stop_key: Vec<String>,
    /// Milliseconds between operator heartbeats.
    #[arg(long, default_value_t = DEFAULT_BEAT_PERIOD.as_millis() as u64, value_name = "MS")]
    heartbeat_ms: u64,
}

#[derive(Subcommand)]
enum HostWhat {
    /// Run the daemon (the default).
    Run,
    /// The fleet: presence, sync progress, telemetry.
    Status,
    /// Send text or a program to a robot.
    Send { robot: String, text: String },
    /// Stop a robot: publish a signed engage message (retained).
    Kill {
        robot: String,
        #[command(flatten)]
        how: KillSource,
        /// Keep the stop standing for robots that connect later: re-sign
        /// and re-publish every 10 s (within the robot's 30 s freshness
        /// window) until interrupted. Needs --key.
        #[arg(long, requires = "key")]
        hold: bool,
    },
    /// Clear a robot's stop, if its own conditions allow: publish a signed
    /// release message (retained).
    Release {
        robot: String,
        #[command(flatten)]
        how: KillSource,
    },
    /// Read a robot's mirrored memory.
    Memory {
        robot: String,
        #[command(subcommand)]
        what: MemoryWhat,
    },
}

/// Where the kill-switch message comes from: signed here with the robot's
/// key, or a file signed elsewhere.
#[derive(Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("kill_message").required(true).args(["key", "signed"])))]
struct KillSource {
    /// The robot's kill-switch key (docs/remote-kill.md): sign the message
    /// here, with the next counter for this robot and issuer and the
    /// current time.
    #[arg(long)]
    key: Option<PathBuf>,
    /// A message already signed by another tool, published as is.
    #[arg(long)]
    signed: Option<PathBuf>,
    /// Who signs (with --key): the robot keeps its replay counter per issuer.
    #[arg(long, default_value = KILL_ISSUER, requires = "key")]
    issuer: String,
    /// Folder of the per-robot counter files (with --key). Default:
    /// `kill-counters/` beside the host database (--db).
    #[arg(long, requires = "key")]
    counters: Option<PathBuf>,
}

#[derive(Subcommand)]
enum MemoryWhat {
    /// Records similar in meaning to the text (sentence embeddings), best
    /// first; with --plain, records whose text contains it, newest first.
    Search {
        #[command(flatten)]
        args: super::memory_search::SearchArgs,
        /// Plain case-insensitive substring search (no model needed).
        #[arg(long)]
        plain: bool,
    },
}

fn broker(url: Option<&str>, ca: Option<&Path>) -> anyhow::Result<BrokerConfig> {
    let mut b = BrokerConfig::parse(url.unwrap_or(DEFAULT_URL))?;
    if let Some(ca) = ca {
        // Only when given: otherwise ROBOT_MQTT_CA (read by the parser) stands.
        b.ca_file = Some(ca.to_path_buf());
    }
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
            let db = open_db(&a.db)?;
            let rows = db.robots()?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no robot has connected yet");
            } else {
                let now = wall_ms() as i64;
                println!(
                    "{:<20} {:<8} {:<7} {:>10} {:>9} {:>9}  last seen",
                    "robot", "presence", "stop", "synced", "records", "pending"
                );
                for r in &rows {
                    let pending = r
                        .telemetry
                        .as_ref()
                        .and_then(|t| t["outbox_pending"].as_i64())
                        .map_or("-".to_string(), |p| p.to_string());
                    let ago = (now - r.last_seen_ms).max(0) / 1000;
                    let stop = if r.stopped { "STOPPED" } else { "-" };
                    println!(
                        "{:<20} {:<8} {:<7} {:>10} {:>9} {:>9}  {ago} s ago",
                        r.robot_id, r.presence, stop, r.held_through, r.records, pending
                    );
                }
            }
            if !a.json {
                // A robot can be stopped before it ever connects.
                let seen: Vec<&str> = rows.iter().map(|r| r.robot_id.as_str()).collect();
                for (robot, since) in db.stops()?.into_iter().filter(|(r, _)| !seen.contains(&r.as_str())) {
                    let ago = (wall_ms() as i64 - since).max(0) / 1000;
                    println!("{robot}: STOPPED {ago} s ago, never connected");
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
        Some(HostWhat::Kill { ref robot, ref how, hold: false }) => kill(&a, robot, how, KillAction::Kill),
        Some(HostWhat::Kill { ref robot, ref how, hold: true }) => loop {
            kill(&a, robot, how, KillAction::Kill)?;
            std::thread::sleep(HOLD_REPUBLISH);
        },
        Some(HostWhat::Release { ref robot, ref how }) => kill(&a, robot, how, KillAction::Release),
        Some(HostWhat::Memory { ref robot, what: MemoryWhat::Search { ref args, plain: false } }) => {
            super::memory_search::host(&open_db(&a.db)?, robot, args, a.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(HostWhat::Memory { ref robot, what: MemoryWhat::Search { ref args, plain: true } }) => {
            let rows = open_db(&a.db)?.search(robot, &args.text.join(" "), args.limit)?;
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

fn kill(a: &HostArgs, robot: &str, how: &KillSource, action: KillAction) -> anyhow::Result<ExitCode> {
    // The fleet's list of stops (held by a daemon with --stop-key): a stop
    // is written down before it goes out, and a database error never keeps
    // it from going out; a release deletes it before it is signed, and does
    // not go out if that fails, since a holding daemon would stop the robot
    // again.
    match action {
        KillAction::Kill => {
            if let Err(e) = HostDb::open(&a.db).and_then(|db| db.record_stop(robot, &how.issuer, wall_ms() as i64)) {
                eprintln!("warning: the stop is not recorded in {} ({e}); no host will hold it", a.db.display());
            }
        }
        KillAction::Release => {
            let db = open_db(&a.db)?;
            db.clear_stop(robot).with_context(|| format!("cannot clear the stop of {robot} in {}", a.db.display()))?;
        }
        KillAction::Heartbeat => {}
    }
    let result = send_kill(a, robot, how, action);
    if result.is_err() && action == KillAction::Release {
        // Not released after all: the stop stands, so it is held again.
        if let Err(e) = HostDb::open(&a.db).and_then(|db| db.record_stop(robot, &how.issuer, wall_ms() as i64)) {
            eprintln!("warning: the stop of {robot} could not be recorded again in {} ({e})", a.db.display());
        }
    }
    result
}

/// Signs (or reads) and publishes one kill-switch message.
fn send_kill(a: &HostArgs, robot: &str, how: &KillSource, action: KillAction) -> anyhow::Result<ExitCode> {
    let (bytes, counter) = match (&how.key, &how.signed) {
        (Some(key_file), _) => {
            let loaded = KillKey::from_file(key_file)?;
            if let Some(w) = loaded.warning {
                eprintln!("warning: {w}");
            }
            let dir = how.counters.clone().unwrap_or_else(|| counters_dir(&a.db));
            let counter = KillCounter::new(&dir, robot, &how.issuer)?;
            let bytes = sign_kill(&loaded.key, &counter, robot, &how.issuer, action, wall_ms())
                .with_context(|| format!("cannot sign the message (counter file {})", counter.path().display()))?;
            (bytes, Some(counter))
        }
        (None, Some(signed)) => {
            (std::fs::read(signed).with_context(|| format!("cannot read {}", signed.display()))?, None)
        }
        // clap's argument group requires one of the two.
        (None, None) => bail!("give --key FILE or --signed FILE"),
    };
    let payload = commands::kill_switch_payload(action, &bytes)?;
    let b = broker(a.mqtt.as_deref(), a.mqtt_ca.as_deref())?;
    let id = format!("{}-kill", a.client_id);
    let sent = commands::publish_blocking(&b, &id, robot, Leaf::Kill, payload, Duration::from_secs(10))
        .with_context(|| format!("cannot publish the {} for {robot}", what(action)));
    // The stop did not wait for the counter to reach the disk; it does now,
    // sent or not (the counter is used up either way).
    if let Some(c) = counter {
        c.sync().with_context(|| format!("counter file {}", c.path().display()))?;
    }
    sent?;
    println!("{} published for {robot} (retained)", what(action));
    Ok(ExitCode::SUCCESS)
}

/// How often `robot host kill --hold` re-publishes: well inside the
/// robot's 30 s window, so a robot connecting at any moment gets a fresh
/// engage from the broker.
const HOLD_REPUBLISH: Duration = Duration::from_secs(10);

fn what(action: KillAction) -> &'static str {
    match action {
        KillAction::Kill => "stop (engage)",
        KillAction::Release => "release",
        KillAction::Heartbeat => "heartbeat",
    }
}

/// Where the per-robot kill-switch counters live by default: beside the
/// host database.
fn counters_dir(db: &Path) -> PathBuf {
    db.parent().unwrap_or(Path::new("")).join("kill-counters")
}

/// The issuer of `robot host kill|release` by default, and of the engages a
/// daemon re-signs to hold a stop (the same counter file, see
/// `host/stop_hold.rs`).
const KILL_ISSUER: &str = "robot-host";

/// The issuer of the host's operator heartbeats. Not the issuer of `robot
/// host kill` (`robot-host` by default): the robot keeps one counter per
/// issuer, and a heartbeat signed after a stop but delivered before it
/// (another connection) would otherwise use up the stop's counter.
const BEAT_ISSUER: &str = "robot-host-heartbeat";

/// `ROBOT=KEYFILE` arguments of `flag`, with each key read (and its
/// warnings shown).
fn robot_keys(specs: &[String], flag: &str) -> anyhow::Result<Vec<(String, KillKey)>> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let Some((robot, key_file)) = spec.split_once('=') else {
            bail!("{flag} {spec}: expected ROBOT=KEYFILE");
        };
        let loaded = KillKey::from_file(key_file)?;
        if let Some(w) = loaded.warning {
            eprintln!("warning: {w}");
        }
        out.push((robot.to_string(), loaded.key));
    }
    Ok(out)
}

/// `--heartbeat ROBOT=KEYFILE ...`: the operator heartbeats, if any.
fn start_heartbeats(a: &HostArgs, b: &BrokerConfig) -> anyhow::Result<Option<OperatorBeat>> {
    if a.heartbeat.is_empty() {
        return Ok(None);
    }
    let mut c = OperatorBeatConfig::new(b.clone(), format!("{}-beat", a.client_id), BEAT_ISSUER);
    c.period = Duration::from_millis(a.heartbeat_ms);
    for (robot, key) in robot_keys(&a.heartbeat, "--heartbeat")? {
        let counter = KillCounter::new(counters_dir(&a.db), &robot, BEAT_ISSUER)?;
        c.targets.push(BeatTarget { robot_id: robot, key, counter });
    }
    let names: Vec<&str> = c.targets.iter().map(|t| t.robot_id.as_str()).collect();
    println!("operator heartbeats every {} ms for {}", a.heartbeat_ms, names.join(", "));
    Ok(Some(OperatorBeat::start(c)?))
}

/// `--stop-key ROBOT=KEYFILE ...` and the robots of `--heartbeat`: the
/// stops this daemon keeps standing, if any.
fn start_holds(a: &HostArgs, b: &BrokerConfig) -> anyhow::Result<Option<StopHolder>> {
    let mut c = StopHoldConfig::new(b.clone(), format!("{}-hold", a.client_id), KILL_ISSUER, a.db.clone());
    let keys = robot_keys(&a.stop_key, "--stop-key")?.into_iter().chain(robot_keys(&a.heartbeat, "--heartbeat")?);
    for (robot, key) in keys {
        if c.targets.iter().any(|t| t.robot_id == robot) {
            continue;
        }
        let counter = KillCounter::new(counters_dir(&a.db), &robot, KILL_ISSUER)?;
        c.targets.push(HoldTarget { robot_id: robot, key, counter });
    }
    if c.targets.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = c.targets.iter().map(|t| t.robot_id.as_str()).collect();
    println!("holding operator stops of {} (re-signed every {} s)", names.join(", "), c.period.as_secs());
    Ok(Some(StopHolder::start(c).with_context(|| format!("cannot hold stops from {}", a.db.display()))?))
}

fn daemon(a: &HostArgs) -> anyhow::Result<ExitCode> {
    let url = match (&a.mqtt, a.no_embedded_broker) {
        (Some(u), _) => u.clone(),
        (None, true) => DEFAULT_URL.to_string(),
        (None, false) => start_embedded(a.embedded_broker)?,
    };
    let b = broker(Some(&url), a.mqtt_ca.as_deref())?;
    let beats = start_heartbeats(a, &b)?;
    let holds = start_holds(a, &b)?;
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
            s.last_error
                .or_else(|| beats.as_ref().and_then(OperatorBeat::last_error))
                .or_else(|| holds.as_ref().and_then(StopHolder::last_error))
                .map(|e| format!(" | last error: {e}"))
                .unwrap_or_default()
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

/// `robot sim`'s remote kill-switch settings (`--kill-key`, `--kill-state`,
/// `--operator-link`).
pub struct SimKill<'a> {
    pub key: Option<&'a Path>,
    pub state: Option<&'a Path>,
    /// Require signed operator heartbeats at L0 to L3.
    pub operator_link: bool,
}

/// What `robot sim --mqtt` runs beside the prompt.
pub struct SimSync {
    link: RobotLink,
    /// With `--operator-link`: the watchdog, and the level it judges by.
    operator: Option<(OperatorWatchdog, Arc<OperatorShared>)>,
}

impl SimSync {
    /// Call after every line at the prompt: tell the watchdog the level
    /// and apply a link loss it found to the policy (the latch is already
    /// engaged). Returns a line for the operator when the level changed.
    pub fn check_operator(&self, s: &mut SimSession) -> Option<String> {
        let (_, shared) = self.operator.as_ref()?;
        let report = shared.take_loss().map(|loss| {
            let from = s.executor.policy.level();
            let to = loss.apply(&s.executor.latch, &mut s.executor.policy);
            format!(
                "operator link lost ({} ms without a heartbeat): latch ENGAGED, level {from} -> {to}",
                loss.silent_for.as_millis()
            )
        });
        shared.set_level(s.executor.policy.level());
        report
    }
}

/// The sink for `robots/<id>/kill`: with a key, a verifier that engages and
/// releases the session's latch; without one, a sink that refuses and
/// reports every message (a kill-switch message is never accepted
/// unverified). Its records go to `<out>/remote-kill.jsonl`, a log of its
/// own: the session's flight log belongs to the executor, and the stop must
/// not wait for it (the latch's own `latch_engaged` event still reaches the
/// flight log).
fn sim_kill_sink(kill: &SimKill<'_>, out: &Path, s: &SimSession) -> anyhow::Result<RemoteKillSink> {
    let log = out.join("remote-kill.jsonl");
    let rec = Recorder::create(&log).with_context(|| format!("cannot open {}", log.display()))?;
    let robot_id = s.executor.board.board.robot_id.clone();
    let Some(key_file) = kill.key else {
        println!("remote kill-switch: no --kill-key, so kill-switch messages will be refused (log {})", log.display());
        return Ok(RemoteKillSink::without_key(robot_id, rec));
    };
    let loaded = KillKey::from_file(key_file)?;
    if let Some(w) = loaded.warning {
        eprintln!("warning: {w}");
    }
    let state = kill.state.map_or_else(|| out.join("kill-replay.json"), Path::to_path_buf);
    let handler = RemoteKill::new(&robot_id, loaded.key, s.executor.latch.clone(), Box::new(FileStore::new(&state)))
        .with_context(|| format!("cannot start the remote kill-switch (replay state {})", state.display()))?;
    if let Some(standing) = handler.restored_engage() {
        println!(
            "remote kill-switch: the stop from `{}` (counter {}) was never released: latch ENGAGED",
            standing.issuer, standing.counter
        );
    }
    println!("remote kill-switch: armed for `{robot_id}` (replay state {}, log {})", state.display(), log.display());
    Ok(RemoteKillSink::new(handler, rec))
}

/// `robot sim --mqtt [URL]`: attach a memory file if none was given
/// (`<out>/memory.db`, sync needs one on disk) and start the link, with the
/// remote kill-switch on its kill topic. `None` when `--mqtt` was not given.
pub fn start_sim_sync(
    mqtt: Option<&str>,
    memory: Option<&Path>,
    kill: &SimKill<'_>,
    out: &Path,
    s: &mut SimSession,
) -> anyhow::Result<Option<SimSync>> {
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
    let mut sink = sim_kill_sink(kill, out, s)?;
    if kill.operator_link {
        let timeout = operator_timeout(s.executor.board.autonomy.operator_heartbeat_s);
        sink = sink.with_operator_link(timeout, s.executor.latch.clone());
        println!(
            "operator link: signed heartbeats required at L0-L3 (stop after {} ms without one)",
            timeout.as_millis()
        );
    }
    let sink = Arc::new(sink);
    let b = BrokerConfig::parse(url)?;
    let link = RobotLink::start(RobotLinkConfig::new(b, &db, wall_ms() as i64), sink.clone())
        .with_context(|| format!("cannot start memory sync for {}", db.display()))?;
    println!("memory sync: {url} (robot `{}`, memory {})", link.status().robot_id, db.display());
    let operator = if kill.operator_link {
        let shared = OperatorShared::new(s.executor.policy.level());
        let dog = OperatorWatchdog::spawn(sink, shared.clone()).context("cannot start the operator-link watchdog")?;
        Some((dog, shared))
    } else {
        None
    };
    Ok(Some(SimSync { link, operator }))
}

/// The board's `autonomy.operator_heartbeat_s`, or the default for a value
/// that is not a positive number of seconds.
fn operator_timeout(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).ok().filter(|d| !d.is_zero()).unwrap_or(DEFAULT_OPERATOR_HEARTBEAT)
}

/// Stop the link cleanly (the retained offline status goes out).
pub fn stop_sim_sync(sync: Option<SimSync>) {
    if let Some(SimSync { link, operator }) = sync {
        drop(operator);
        if let Err(e) = link.stop() {
            eprintln!("memory sync: {e}");
        }
    }
}
