//! `robot run` as a systemd `Type=notify` service, with the service manager
//! played by this test: a Unix datagram socket passed in `NOTIFY_SOCKET`
//! (what systemd does) receives `READY=1` once the simulated board is up,
//! `WATCHDOG=1` at half the `WATCHDOG_USEC` period while the control loop
//! is healthy, and `STOPPING=1` after SIGTERM, which ends the service with
//! status 0. A program piped on stdin runs on the service's worker.

mod common;

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Kills the service if an assertion fails first.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every datagram until `want` arrives or `limit` passes.
fn receive_until(sock: &UnixDatagram, want: impl Fn(&[String]) -> bool, limit: Duration) -> Vec<String> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !want(&got) && started.elapsed() < limit {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

fn count(got: &[String], line: &str) -> usize {
    got.iter().filter(|m| m.lines().any(|l| l == line)).count()
}

#[test]
fn service_notifies_ready_watchdog_and_stopping() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind the notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    // Emulated runs start slower; the checks count messages, not time.
    let limit = Duration::from_secs(if std::env::var_os("ROBOT_UNDER_QEMU").is_some() { 120 } else { 30 });

    let mut cmd = common::command(env!("CARGO_BIN_EXE_robot"));
    cmd.args(["run", "--board", "boards/sim-rover.toml", "--yes", "--json"])
        .current_dir(root())
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut service = Service(cmd.spawn().expect("start robot run"));

    let got = receive_until(&sock, |g| count(g, "READY=1") > 0, limit);
    assert_eq!(count(&got, "READY=1"), 1, "READY=1 once the board is up: {got:?}");
    let ready = got.iter().find(|m| m.contains("READY=1")).expect("ready message");
    assert!(ready.contains("STATUS=board `sim-rover`"), "a status line names the board: {ready}");

    // Four pings at 200 ms: the loop keeps pinging, not just once.
    let got = receive_until(&sock, |g| count(g, "WATCHDOG=1") >= 4, limit);
    assert!(count(&got, "WATCHDOG=1") >= 4, "watchdog pings from the control loop: {got:?}");

    let mut stdin = service.0.stdin.take().expect("stdin");
    writeln!(stdin, "drive(distance_m=0.2)").expect("send a program");
    drop(stdin);
    // The program runs on the worker while the loop keeps pinging.
    let got = receive_until(&sock, |g| count(g, "WATCHDOG=1") >= 2, limit);
    assert!(count(&got, "WATCHDOG=1") >= 2, "pings continue with stdin closed: {got:?}");

    let kill = Command::new("kill").args(["-TERM", &service.0.id().to_string()]).status().expect("run kill");
    assert!(kill.success());
    let got = receive_until(&sock, |g| count(g, "STOPPING=1") > 0, limit);
    assert_eq!(count(&got, "STOPPING=1"), 1, "STOPPING=1 on SIGTERM: {got:?}");

    let started = Instant::now();
    let status = loop {
        if let Some(s) = service.0.try_wait().expect("wait") {
            break s;
        }
        assert!(started.elapsed() < limit, "the service did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    service.0.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
    service.0.stderr.take().expect("stderr").read_to_string(&mut err).expect("read stderr");
    assert!(status.success(), "orderly exit after SIGTERM: {status:?}\n{err}");
    assert!(out.contains("\"status\":\"done\""), "the piped program ran: {out}\n{err}");
    assert!(err.contains("stopping: actuators made safe"), "{err}");
}

#[test]
fn without_notify_socket_the_service_runs_and_stops_quietly() {
    let mut cmd = common::command(env!("CARGO_BIN_EXE_robot"));
    cmd.args(["run", "--board", "boards/sim-rover.toml"])
        .current_dir(root())
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut service = Service(cmd.spawn().expect("start robot run"));
    let limit = Duration::from_secs(if std::env::var_os("ROBOT_UNDER_QEMU").is_some() { 120 } else { 30 });
    // Wait for the ready line on stderr before stopping it.
    let mut stderr = std::io::BufReader::new(service.0.stderr.take().expect("stderr"));
    let mut line = String::new();
    use std::io::BufRead;
    // Emulators may print their own warnings first.
    while !line.contains("ready") {
        line.clear();
        let n = stderr.read_line(&mut line).expect("read stderr");
        assert!(n > 0, "the service ended before it was ready");
    }
    let kill = Command::new("kill").args(["-INT", &service.0.id().to_string()]).status().expect("run kill");
    assert!(kill.success());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = service.0.try_wait().expect("wait") {
            break s;
        }
        assert!(started.elapsed() < limit, "the service did not exit after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}
