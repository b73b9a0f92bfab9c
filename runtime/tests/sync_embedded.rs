//! The desktop demo path end to end on the embedded broker (rumqttd): a
//! robot's memory reaches the host, commands and kill-switch bytes reach the
//! robot (the retained kill also on a later connect), places remembered on
//! one robot are merged into another's memory, and presence follows the
//! robot (online, then the retained offline status on a clean stop).

#![cfg(feature = "embedded-broker")]

mod sync_support;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use robot_hal::Pose;
use robot_runtime::host::commands::{self, KillAction};
use robot_runtime::host::{embedded, HostConfig, HostDaemon, HostDb};
use robot_runtime::memory::{MemoryStore, NoteKind, PlaceSource, StoreConfig};
use robot_runtime::sync::topics::Leaf;
use robot_runtime::sync::{BrokerConfig, RobotLink};
use sync_support::*;

fn robot(dir: &std::path::Path, id: &str) -> (MemoryStore, std::path::PathBuf) {
    let p = dir.join(format!("{id}.db"));
    (MemoryStore::open_with(&p, StoreConfig { robot_id: id.into(), ..Default::default() }).unwrap(), p)
}

#[test]
fn embedded_broker_demo_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let b = embedded::start(([127, 0, 0, 1], port).into()).unwrap();
    let url = format!("mqtt://{}", b.addr);
    let host_db = dir.path().join("fleet.db");
    let mut hc = HostConfig::new(BrokerConfig::parse(&url).unwrap(), &host_db);
    hc.backoff = fast_backoff();
    let host = HostDaemon::start(hc).unwrap();
    assert!(eventually(Duration::from_secs(5), || host.status().connected));

    let (a_store, a_path) = robot(dir.path(), "rover-a");
    let (b_store, b_path) = robot(dir.path(), "rover-b");
    for i in 0..40u64 {
        a_store.add_note(NoteKind::Note, &format!("the red door sticks {i}"), i).unwrap();
    }
    a_store.remember_place("charger", Pose::new(3.0, 4.0, 180.0), 5_000_000).unwrap();
    let (kill_tx, kill_rx) = mpsc::sync_channel(4);
    let mut a = RobotLink::start(fast_link(&url, &a_path, 1), Arc::new(kill_tx)).unwrap();
    let last = a_store.last_seq().unwrap();
    let (st, done) = a.wait_status(Duration::from_secs(10), |s| s.acked == last);
    assert!(done, "{st:?}");

    let db = HostDb::open(&host_db).unwrap();
    assert_eq!(db.search("rover-a", "RED DOOR", 100).unwrap().len(), 40);
    assert_eq!(db.fleet_places().unwrap().len(), 1);

    // A command reaches the robot's channel.
    let bc = BrokerConfig::parse(&url).unwrap();
    let payload = commands::command_payload("c1", "drive(distance_m=1)").unwrap();
    commands::publish_blocking(&bc, "test-send", "rover-a", Leaf::Commands, payload, Duration::from_secs(5)).unwrap();
    let mut got = None;
    assert!(eventually(Duration::from_secs(5), || {
        got = got.take().or_else(|| a.try_command());
        got.is_some()
    }));
    assert_eq!(got.unwrap().text, "drive(distance_m=1)");

    // Kill-switch bytes arrive unchanged, at once.
    let signed = b"KILL rover-a nonce=1 sig=00ff".to_vec();
    let payload = commands::kill_switch_payload(KillAction::Kill, &signed).unwrap();
    commands::publish_blocking(&bc, "test-kill", "rover-a", Leaf::Kill, payload, Duration::from_secs(5)).unwrap();
    assert_eq!(kill_rx.recv_timeout(Duration::from_secs(5)).unwrap(), signed);
    assert!(commands::kill_switch_payload(KillAction::Release, &[]).is_err());

    // Robot B connects later: it gets A's place merged into its memory, and
    // the retained kill for its own id (published before it connected).
    let b_signed = b"KILL rover-b".to_vec();
    commands::publish_blocking(&bc, "test-kill-b", "rover-b", Leaf::Kill, b_signed.clone(), Duration::from_secs(5))
        .unwrap();
    let (b_kill_tx, b_kill_rx) = mpsc::sync_channel(4);
    let lb = RobotLink::start(fast_link(&url, &b_path, 2), Arc::new(b_kill_tx)).unwrap();
    assert_eq!(b_kill_rx.recv_timeout(Duration::from_secs(5)).unwrap(), b_signed, "retained kill on connect");
    assert!(eventually(Duration::from_secs(5), || b_store.place("charger").unwrap().is_some()));
    let p = b_store.place("charger").unwrap().unwrap();
    assert_eq!((p.pose.x, p.pose.y, p.source), (3.0, 4.0, PlaceSource::Fleet));
    // B's merged copy goes up and changes nothing on the host.
    let b_last = b_store.last_seq().unwrap();
    assert!(lb.wait_status(Duration::from_secs(5), |s| s.acked == b_last).1);
    assert_eq!(db.fleet_places().unwrap()[0].origin, "rover-a");

    assert!(eventually(Duration::from_secs(5), || db.online_robots().unwrap() == ["rover-a", "rover-b"]));
    a.memory_changed();
    a.stop().unwrap();
    assert!(eventually(Duration::from_secs(5), || db.online_robots().unwrap() == ["rover-b"]));
    lb.stop().unwrap();
    let st = host.status();
    assert_eq!(st.conflicts, 0, "{st:?}");
    host.stop().unwrap();
}
