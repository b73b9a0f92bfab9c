//! Memory sync through a Mosquitto configured like production: started from
//! the documented docs/mosquitto/mosquitto.conf and docs/mosquitto/acl
//! (paths moved into a temp dir, the listener on a loopback port), with a
//! TLS listener whose certificates the test makes (rcgen), a password file
//! made with `mosquitto_passwd`, and the per-robot ACL.
//!
//! Asserts: a robot and the host (in a shared-subscription group) sync over
//! `mqtts://user:password@...` with the CA given as a file; a wrong password
//! and an untrusted CA get no connection; and robot A can neither publish
//! under `robots/B/` nor read anything there through a subscription, so
//! the host never sees A's forged records for B and A never sees B's acks. Skipped with a notice when
//! mosquitto or mosquitto_passwd is not installed.

mod sync_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use robot_runtime::host::{HostConfig, HostDaemon, HostDb};
use robot_runtime::memory::{Hlc, MemoryStore, NoteKind, StoreConfig};
use robot_runtime::sync::wire::{self, MemoryUp, Record, RecordBody, WIRE_VERSION};
use robot_runtime::sync::{BrokerConfig, KillSink, Outbox, RobotLink};
use rumqttc::{Client, Event, Packet, QoS};
use sync_support::*;

const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/mosquitto");
const HOST_USER: &str = "fleet-host";

struct NoKill;

impl KillSink for NoKill {
    fn deliver(&self, _robot_id: &str, _payload: &[u8]) {}
}

struct Secure {
    dir: tempfile::TempDir,
    _broker: Mosquitto,
    port: u16,
    ca: PathBuf,
}

impl Secure {
    fn url(&self, user: &str, password: &str) -> String {
        format!("mqtts://{user}:{password}@127.0.0.1:{}", self.port)
    }

    fn broker(&self, user: &str, password: &str) -> BrokerConfig {
        let mut b = BrokerConfig::parse(&self.url(user, password)).unwrap();
        b.ca_file = Some(self.ca.clone());
        b.keep_alive = Duration::from_secs(2);
        b
    }
}

fn mosquitto_passwd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("mosquitto_passwd"))
        .find(|p| p.is_file())
}

/// A CA and a broker certificate for 127.0.0.1 signed by it, as PEM files
/// under `dir/certs/`; returns the CA file.
fn make_certs(dir: &Path) -> PathBuf {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "robot fleet test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "broker");
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(certs.join("ca.crt"), ca.pem()).unwrap();
    std::fs::write(certs.join("broker.crt"), cert.pem()).unwrap();
    std::fs::write(certs.join("broker.key"), key.serialize_pem()).unwrap();
    certs.join("ca.crt")
}

/// Another CA's certificate, which the broker's certificate is not signed by.
fn foreign_ca(dir: &Path) -> PathBuf {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let path = dir.join("foreign-ca.crt");
    std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
    path
}

/// The documented broker, with `accounts` (user, password) in its password file.
fn secure_broker(accounts: &[(&str, &str)]) -> Option<Secure> {
    let Some(passwd_bin) = mosquitto_passwd() else {
        eprintln!("NOTICE: mosquitto_passwd is not installed (apt-get install mosquitto); TLS test skipped");
        return None;
    };
    mosquitto_binary()?;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = make_certs(d);
    let passwd = d.join("passwd");
    std::fs::write(&passwd, "").unwrap();
    for (user, password) in accounts {
        let ok = std::process::Command::new(&passwd_bin).arg("-b").arg(&passwd).arg(user).arg(password).status();
        assert!(ok.is_ok_and(|s| s.success()), "mosquitto_passwd failed for {user}");
    }
    std::fs::copy(Path::new(DOCS).join("acl"), d.join("acl")).unwrap();
    std::fs::create_dir_all(d.join("data")).unwrap();
    let port = free_port();
    let documented = std::fs::read_to_string(Path::new(DOCS).join("mosquitto.conf")).unwrap();
    assert!(documented.contains("listener 8883\n") && documented.contains("/etc/mosquitto/"), "docs changed shape");
    let conf = documented
        .replace("listener 8883\n", &format!("listener {port} 127.0.0.1\n"))
        .replace("/etc/mosquitto/", &format!("{}/", d.display()))
        .replace("/var/lib/mosquitto/", &format!("{}/data/", d.display()))
        + &format!("log_dest file {}\nlog_type all\n", d.join("mosquitto.log").display());
    let broker = Mosquitto::with_config(d, port, &conf)?;
    Some(Secure { dir, _broker: broker, port, ca })
}

fn start_host(s: &Secure, db: &Path) -> HostDaemon {
    let mut c = HostConfig::new(s.broker(HOST_USER, "host-secret"), db);
    c.backoff = fast_backoff();
    c.client_id = "host-tls-1".into();
    c.share_group = Some("hosts".into());
    let host = HostDaemon::start(c).unwrap();
    assert!(eventually(Duration::from_secs(10), || host.status().connected), "host: {:?}", host.status());
    host
}

fn robot(dir: &Path, id: &str, notes: u64) -> (MemoryStore, PathBuf) {
    let p = dir.join(format!("{id}.db"));
    let store = MemoryStore::open_with(&p, StoreConfig { robot_id: id.into(), ..Default::default() }).unwrap();
    for i in 0..notes {
        store.add_note(NoteKind::Note, &format!("{id} genuine note {i}"), i).unwrap();
    }
    (store, p)
}

fn link(s: &Secure, user: &str, password: &str, db: &Path, epoch: i64) -> RobotLink {
    let mut c = fast_link(&s.url(user, password), db, epoch);
    c.broker.ca_file = Some(s.ca.clone());
    RobotLink::start(c, Arc::new(NoKill)).unwrap()
}

fn log_of(s: &Secure) -> String {
    std::fs::read_to_string(s.dir.path().join("mosquitto.log")).unwrap_or_default()
}

#[test]
fn tls_with_passwords_syncs_and_refuses_bad_credentials_and_untrusted_ca() {
    let Some(s) = secure_broker(&[(HOST_USER, "host-secret"), ("rover-t", "t-secret")]) else { return };
    let host_db = s.dir.path().join("host.db");
    let host = start_host(&s, &host_db);
    let (store, db) = robot(s.dir.path(), "rover-t", 40);
    let l = link(&s, "rover-t", "t-secret", &db, 1);
    let (st, done) = l.wait_status(Duration::from_secs(15), |st| st.acked == 40);
    assert!(done, "no sync over TLS: {st:?}\n{}", log_of(&s));
    l.stop().unwrap();
    let epoch = Outbox::open(&db, 0).unwrap().epoch();
    let want: Vec<i64> = store.notes(None, usize::MAX).unwrap().iter().rev().map(|n| n.outbox_seq).collect();
    assert_eq!(HostDb::open(&host_db).unwrap().record_seqs("rover-t", epoch).unwrap(), want);

    // A wrong password, no password at all, and a CA that did not sign the
    // broker's certificate: none of them ever gets a session.
    let wrong = link(&s, "rover-t", "guess", &db, 1);
    let mut anonymous = fast_link(&format!("mqtts://127.0.0.1:{}", s.port), &db, 1);
    anonymous.broker.ca_file = Some(s.ca.clone());
    anonymous.broker.password = None;
    let anonymous = RobotLink::start(anonymous, Arc::new(NoKill)).unwrap();
    let mut untrusted = fast_link(&s.url("rover-t", "t-secret"), &db, 1);
    untrusted.broker.ca_file = Some(foreign_ca(s.dir.path()));
    let untrusted = RobotLink::start(untrusted, Arc::new(NoKill)).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    for (what, l) in [("wrong password", &wrong), ("anonymous", &anonymous), ("untrusted CA", &untrusted)] {
        let st = l.status();
        assert_eq!(st.connects, 0, "{what} connected: {st:?}");
        assert!(st.last_error.is_some(), "{what}: the failure is reported: {st:?}");
    }
    let e = untrusted.status().last_error.unwrap_or_default().to_lowercase();
    assert!(e.contains("tls") || e.contains("certificate") || e.contains("unknown"), "{e}");
    drop((wrong, anonymous, untrusted));
    host.stop().unwrap();
}

/// A plain rumqttc client logged in as `user` over the same rustls setup
/// the runtime uses, for the attacker's side.
fn raw_client(s: &Secure, user: &str, password: &str) -> (Client, rumqttc::Connection) {
    let opts = s.broker(user, password).mqtt_options(&format!("{user}-raw"), None, true).unwrap();
    Client::new(opts, 16)
}

#[test]
fn acl_keeps_robot_a_out_of_robot_b_subtree() {
    let Some(s) = secure_broker(&[(HOST_USER, "host-secret"), ("rover-a", "a-secret"), ("rover-b", "b-secret")]) else {
        return;
    };
    let host_db = s.dir.path().join("host.db");
    let host = start_host(&s, &host_db);

    // Robot A, as an attacker with its own valid credentials.
    let (a, mut conn) = raw_client(&s, "rover-a", "a-secret");
    a.subscribe("robots/rover-b/#", QoS::AtLeastOnce).unwrap();
    a.subscribe("robots/rover-b/memory/ack", QoS::AtLeastOnce).unwrap();
    a.subscribe("robots/+/commands", QoS::AtLeastOnce).unwrap();
    let forged_epoch = 4242;
    let forged = |robot_id: &str| MemoryUp {
        v: WIRE_VERSION,
        robot_id: robot_id.into(),
        epoch: forged_epoch,
        from_seq: 0,
        through_seq: 3,
        records: (1..=3)
            .map(|seq| Record {
                seq,
                hlc: Hlc { wall_ms: 1, counter: 0 },
                uid: format!("rover-b:{seq}"),
                body: RecordBody::Note {
                    note_kind: NoteKind::Note,
                    text: "forged by rover-a".into(),
                    created_at_us: 1,
                },
            })
            .collect(),
    };
    // Under B's topic: the ACL drops it at the broker.
    a.publish("robots/rover-b/memory/up", QoS::AtLeastOnce, false, wire::encode(&forged("rover-b")).unwrap()).unwrap();
    // Under A's own topic, claiming to be B: the host refuses the payload.
    a.publish("robots/rover-a/memory/up", QoS::AtLeastOnce, false, wire::encode(&forged("rover-b")).unwrap()).unwrap();
    let mut subacks = Vec::new();
    let mut pubacks = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while (subacks.len() < 3 || pubacks < 2) && Instant::now() < deadline {
        match conn.recv_timeout(Duration::from_millis(200)) {
            Ok(Ok(Event::Incoming(Packet::SubAck(ack)))) => subacks.extend(ack.return_codes),
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => pubacks += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("rover-a's connection failed: {e}\n{}", log_of(&s)),
            Err(_) => {}
        }
    }
    assert_eq!(pubacks, 2, "both publishes were taken (and one dropped by the ACL)");
    // Mosquitto 2.0 may grant a subscription the ACL does not cover (for
    // MQTT 3.1.1 it does) and then delivers nothing through it; what counts
    // is that nothing of B's arrives, checked below while B syncs.
    assert_eq!(subacks.len(), 3, "{subacks:?}");
    eprintln!("rover-a's subscriptions under rover-b: {subacks:?}");

    // Robot B syncs for real; A must see none of B's acks, and the host
    // none of A's forgeries.
    let (store_b, db_b) = robot(s.dir.path(), "rover-b", 30);
    let lb = link(&s, "rover-b", "b-secret", &db_b, 7);
    let (st, done) = lb.wait_status(Duration::from_secs(15), |st| st.acked == 30);
    assert!(done, "rover-b did not sync: {st:?}\n{}", log_of(&s));
    let seen_by_a = {
        let mut n = 0;
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            if let Ok(Ok(Event::Incoming(Packet::Publish(p)))) = conn.recv_timeout(Duration::from_millis(50)) {
                eprintln!("rover-a received {}", p.topic);
                n += 1;
            }
        }
        n
    };
    assert_eq!(seen_by_a, 0, "rover-a read another robot's messages");
    lb.stop().unwrap();
    let _ = a.disconnect();

    let db = HostDb::open(&host_db).unwrap();
    let epoch_b = Outbox::open(&db_b, 0).unwrap().epoch();
    assert_eq!(epoch_b, 7);
    let want: Vec<i64> = store_b.notes(None, usize::MAX).unwrap().iter().rev().map(|n| n.outbox_seq).collect();
    assert_eq!(db.record_seqs("rover-b", epoch_b).unwrap(), want, "exactly B's own records");
    assert!(db.record_seqs("rover-b", forged_epoch).unwrap().is_empty(), "a forged stream for B was applied");
    assert!(db.record_seqs("rover-a", forged_epoch).unwrap().is_empty());
    assert!(db.search("rover-b", "forged", 10).unwrap().is_empty());
    let hs = host.status();
    assert_eq!(hs.refused, 1, "the payload claiming B on A's topic is refused: {hs:?}");
    assert_eq!(hs.conflicts, 0);
    host.stop().unwrap();
}
