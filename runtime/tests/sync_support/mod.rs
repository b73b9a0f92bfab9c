//! Shared by the sync tests that use a real broker: a Mosquitto started on a
//! free loopback port with persistence in a temp dir (and killed with
//! SIGKILL on demand), fast link settings, and polling helpers.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use robot_runtime::sync::backoff::BackoffConfig;
use robot_runtime::sync::protocol::RobotSyncConfig;
use robot_runtime::sync::{BrokerConfig, RobotLinkConfig};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Wait until `addr` accepts TCP connections.
pub fn wait_listening(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The mosquitto binary: `$MOSQUITTO`, the PATH, or Debian's /usr/sbin.
pub fn mosquitto_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOSQUITTO") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
}

/// A Mosquitto process with persistence on, restartable on the same port.
pub struct Mosquitto {
    bin: PathBuf,
    conf: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Mosquitto {
    /// Start one in `dir`; `None` (with a notice) when mosquitto is not installed.
    pub fn start(dir: &Path) -> Option<Mosquitto> {
        let port = free_port();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
             autosave_interval 1\nlog_dest file {}\nlog_type error\nlog_type warning\n",
            data.display(),
            dir.join("mosquitto.log").display()
        );
        Mosquitto::with_config(dir, port, &conf)
    }

    /// Start one from a whole configuration text (written to
    /// `dir/mosquitto.conf`) that listens on `port`; `None` (with a notice)
    /// when mosquitto is not installed.
    pub fn with_config(dir: &Path, port: u16, config: &str) -> Option<Mosquitto> {
        let Some(bin) = mosquitto_binary() else {
            eprintln!("NOTICE: mosquitto is not installed (apt-get install mosquitto); broker test skipped");
            return None;
        };
        let conf = dir.join("mosquitto.conf");
        std::fs::write(&conf, config).unwrap();
        let mut m = Mosquitto { bin, conf, port, child: None };
        m.restart();
        Some(m)
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Start (again) on the same port and wait until it listens.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        // The port was just released by the killed broker; binding can fail
        // for a moment, so try a few times.
        for _ in 0..50 {
            let child = Command::new(&self.bin)
                .arg("-c")
                .arg(&self.conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn mosquitto");
            self.child = Some(child);
            if wait_listening(addr, Duration::from_secs(2)) {
                return;
            }
            self.kill9();
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("mosquitto did not start on port {}", self.port);
    }

    /// SIGKILL: no clean shutdown, no last save.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Link settings for tests: short timers so faults heal in milliseconds.
pub fn fast_link(url: &str, db: &Path, epoch: i64) -> RobotLinkConfig {
    let mut broker = BrokerConfig::parse(url).unwrap();
    broker.keep_alive = Duration::from_secs(1);
    let mut c = RobotLinkConfig::new(broker, db, epoch);
    c.protocol = RobotSyncConfig {
        window: 4,
        batch_records: 16,
        batch_bytes: 64 * 1024,
        ack_timeout: Duration::from_millis(150),
    };
    c.backoff = fast_backoff();
    c.poll_interval = Duration::from_millis(20);
    c.telemetry_interval = Duration::from_millis(200);
    c
}

pub fn fast_backoff() -> BackoffConfig {
    BackoffConfig { initial: Duration::from_millis(20), max: Duration::from_millis(200), factor: 2.0, jitter: 0.5 }
}

/// Poll `f` until it returns true or the timeout passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}
