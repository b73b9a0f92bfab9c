//! The embedded broker (rumqttd) `robot host` starts for desktop demos, so
//! `robot host` and `robot sim --mqtt` work with nothing else installed.
//! Production fleets use a real broker (Mosquitto, EMQX) with TLS and
//! per-robot credentials; see docs/sync.md.
//!
//! It listens for MQTT 3.1.1 on one address, without authentication, so it
//! binds to loopback unless told otherwise. rumqttd has no shutdown call: the
//! broker's threads live until the process exits.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use super::HostError;

/// A started broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    pub addr: SocketAddr,
}

/// Start the broker on `addr` and wait (up to 5 s) until it accepts connections.
pub fn start(addr: SocketAddr) -> Result<EmbeddedBroker, HostError> {
    let connections = ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: crate::sync::wire::MAX_PAYLOAD_BYTES + 1024,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server =
        ServerSettings { name: "v4".into(), listen: addr, tls: None, next_connection_delay_ms: 1, connections };
    let config = Config {
        id: 0,
        // Memory bound of the broker's in-memory log: 10 segments of 4 MiB.
        router: RouterConfig {
            max_connections: 1_000,
            max_outgoing_packet_count: 200,
            max_segment_size: 4 * 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    // Refuse early when the port is taken, rather than letting the broker
    // thread log an error nobody sees.
    if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
        return Err(HostError::Invalid(format!("something already listens on {addr}")));
    }
    let mut broker = Broker::new(config);
    std::thread::Builder::new().name("rumqttd".into()).spawn(move || {
        let _ = broker.start();
    })?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(EmbeddedBroker { addr });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(HostError::Timeout(format!("the embedded broker did not start on {addr}")))
}
