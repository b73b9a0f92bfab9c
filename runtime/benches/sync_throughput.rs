//! Memory sync throughput: robot to host through a real Mosquitto on
//! loopback, with acknowledgements, using the production protocol settings
//! (window, batch size, ack timeout) rather than the tests' fast ones.
//!
//! The robot's memory file is filled first (objects seen, 1,000 per memory
//! transaction, so filling is not what is measured); then the host daemon
//! and the robot's link start, and the clock runs from the link's start
//! until the robot has persisted the host's acknowledgement of the last
//! record. The host's mirror is checked afterwards: every number once.
//!
//! `cargo bench -p robot-runtime --bench sync_throughput`; `SYNC_BENCH_N`
//! sets the record count (default 50,000), `SYNC_BENCH_BATCH` the records
//! per batch (default: the production setting). Needs `mosquitto` (skipped
//! with a notice otherwise).

#[path = "../tests/sync_support/mod.rs"]
mod sync_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use robot_hal::{Detection, Pose};
use robot_runtime::host::{HostConfig, HostDaemon, HostDb};
use robot_runtime::memory::{MemoryStore, Retention, StoreConfig};
use robot_runtime::sync::{BrokerConfig, KillSink, Outbox, RobotLink, RobotLinkConfig};
use sync_support::{eventually, Mosquitto};

/// The target of issue 4.
const TARGET_PER_S: f64 = 10_000.0;

struct NoKill;

impl KillSink for NoKill {
    fn deliver(&self, _robot_id: &str, _payload: &[u8]) {}
}

fn main() {
    let n: usize = std::env::var("SYNC_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(broker) = Mosquitto::start(dir.path()) else { return };
    let memory = dir.path().join("robot.db");
    let retention = Retention { max_objects: n.max(1), ..Retention::default() };
    let store = MemoryStore::open_with(&memory, StoreConfig { robot_id: "bench-rover".into(), retention })
        .expect("memory store");
    let fill = Instant::now();
    let mut written = 0;
    while written < n {
        let k = (n - written).min(1_000);
        let seen: Vec<Detection> = (0..k)
            .map(|i| Detection {
                label: format!("red ball {}", written + i),
                bearing_deg: (i % 90) as f64,
                distance_m: 1.0 + (i % 7) as f64,
            })
            .collect();
        store.record_objects(&seen, Pose::new(0.0, 0.0, 0.0), (written as u64) * 1_000).expect("record objects");
        written += k;
    }
    let last = store.last_seq().expect("last seq");
    println!("filled {n} records in {:.2} s", fill.elapsed().as_secs_f64());

    let host_db = dir.path().join("host.db");
    let mut hb = BrokerConfig::parse(&broker.url()).expect("url");
    hb.keep_alive = Duration::from_secs(5);
    let mut hc = HostConfig::new(hb, &host_db);
    hc.backoff = sync_support::fast_backoff();
    let host = HostDaemon::start(hc).expect("host daemon");
    assert!(eventually(Duration::from_secs(10), || host.status().connected), "host did not connect");

    let rb = BrokerConfig::parse(&broker.url()).expect("url");
    let mut config = RobotLinkConfig::new(rb, &memory, 1);
    // For comparing batch sizes; the default is the production setting.
    if let Some(b) = std::env::var("SYNC_BENCH_BATCH").ok().and_then(|v| v.parse().ok()) {
        config.protocol.batch_records = b;
    }
    let protocol = config.protocol;
    let start = Instant::now();
    let link = RobotLink::start(config, Arc::new(NoKill)).expect("link");
    let (st, done) = link.wait_status(Duration::from_secs(300), |s| s.acked == last);
    let secs = start.elapsed().as_secs_f64();
    assert!(done, "not all acknowledged: {st:?}");
    link.stop().expect("stop link");

    let epoch = Outbox::open(&memory, 0).expect("outbox").epoch();
    let seqs = HostDb::open(&host_db).expect("host db").record_seqs("bench-rover", epoch).expect("seqs");
    let hs = host.status();
    host.stop().expect("stop host");
    assert_eq!(seqs.len(), n, "host mirror holds every record");
    assert!(seqs.iter().zip(1..).all(|(s, want)| *s == want), "numbers 1..={n}, each once");
    assert_eq!(hs.conflicts, 0);

    let rate = n as f64 / secs;
    println!(
        "sync_throughput: {n} records robot -> mosquitto -> host (acked) in {secs:.2} s = {rate:.0} records/s \
         (target >= {TARGET_PER_S:.0}); window {} x {} records, {} batches sent, {} rewinds, host duplicates {}",
        protocol.window, protocol.batch_records, st.batches_sent, st.rewinds, hs.duplicates
    );
    if rate < TARGET_PER_S {
        println!("BELOW TARGET");
    }
}
