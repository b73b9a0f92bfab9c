//! Where the broker is and how to log in: `mqtt://host:port` for a plain
//! connection (the embedded demo broker, a broker on loopback) or
//! `mqtts://host:port` for TLS through rustls. A user name may be given in
//! the URL; the password should come from the environment
//! (`ROBOT_MQTT_PASSWORD`) so it is not visible in the process list, but a
//! URL password is accepted for tests and demos. A broker whose certificate
//! is not signed by a system root needs its CA's PEM file: `ROBOT_MQTT_CA`,
//! or [`BrokerConfig::ca_file`] set by the caller (`robot host --mqtt-ca`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::SyncError;

/// The environment variable read for the broker password.
pub const PASSWORD_ENV: &str = "ROBOT_MQTT_PASSWORD";

/// The environment variable read for the PEM file of the broker's CA.
pub const CA_ENV: &str = "ROBOT_MQTT_CA";

/// The embedded demo broker's address, and what `--mqtt` alone means.
pub const DEFAULT_URL: &str = "mqtt://127.0.0.1:1883";

/// How to reach and log in to a broker.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// PEM file of the certificate authorities to trust; the system's roots
    /// when `None`.
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// MQTT keep-alive; also how soon a silent broker is noticed.
    pub keep_alive: Duration,
}

impl std::fmt::Debug for BrokerConfig {
    // By hand so a password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl BrokerConfig {
    /// Parse `mqtt://[user[:password]@]host[:port]` or `mqtts://...`; the
    /// password falls back to [`PASSWORD_ENV`], the CA file comes from
    /// [`CA_ENV`] when set.
    pub fn parse(text: &str) -> Result<BrokerConfig, SyncError> {
        let err = |reason: &str| SyncError::BrokerUrl { url: redact(text), reason: reason.to_string() };
        let url = url::Url::parse(text).map_err(|e| err(&e.to_string()))?;
        let (tls, default_port) = match url.scheme() {
            "mqtt" | "tcp" => (false, 1883),
            "mqtts" | "ssl" => (true, 8883),
            _ => return Err(err("use mqtt:// or mqtts://")),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| err("no host"))?;
        // `Url` keeps the brackets of an IPv6 literal; the socket API wants them off.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        if url.path().len() > 1 || url.query().is_some() {
            return Err(err("no path or query is expected"));
        }
        let username = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = url.password().map(decode).or_else(|| std::env::var(PASSWORD_ENV).ok());
        Ok(BrokerConfig {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            ca_file: std::env::var_os(CA_ENV).filter(|v| !v.is_empty()).map(PathBuf::from),
            username,
            password,
            keep_alive: Duration::from_secs(15),
        })
    }

    /// Client options for one connection. `last_will` is set for robots (the
    /// retained offline status). Robots use clean sessions (no stale
    /// commands queued for them); the host keeps its session, so batches
    /// published while it reconnects wait for it at the broker (docs/sync.md).
    pub fn mqtt_options(
        &self,
        client_id: &str,
        last_will: Option<LastWill>,
        clean_session: bool,
    ) -> Result<MqttOptions, SyncError> {
        let mut o = MqttOptions::new(client_id, self.host.clone(), self.port);
        o.set_keep_alive(self.keep_alive.max(Duration::from_secs(1)));
        o.set_clean_session(clean_session);
        let max = super::wire::MAX_PAYLOAD_BYTES + 1024;
        o.set_max_packet_size(max, max);
        if let Some(w) = last_will {
            o.set_last_will(w);
        }
        if let Some(u) = &self.username {
            o.set_credentials(u.clone(), self.password.clone().unwrap_or_default());
        }
        if self.tls {
            o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(self.tls_config()?))));
        }
        Ok(o)
    }

    fn tls_config(&self) -> Result<rustls::ClientConfig, SyncError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| SyncError::Tls(format!("{}: {e}", path.display())))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| SyncError::Tls(format!("{}: {e}", path.display())))?;
                if certs.is_empty() {
                    return Err(SyncError::Tls(format!("{}: no certificate in the file", path.display())));
                }
                for c in certs {
                    roots.add(c).map_err(|e| SyncError::Tls(e.to_string()))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for c in found.certs {
                    // A broken system certificate is skipped, as browsers do.
                    let _ = roots.add(c);
                }
                if roots.is_empty() {
                    return Err(SyncError::Tls("no system root certificates; pass a CA file".into()));
                }
            }
        }
        // The ring provider explicitly, rather than a process-wide default
        // that another library might install differently.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SyncError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

fn decode(s: &str) -> String {
    // Percent-decoding by hand: `url` leaves user info encoded and the
    // decoder crate is not otherwise needed.
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with any password replaced, for error messages.
fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => text.to_string(),
        Err(_) => "<unparsable URL>".to_string(),
    }
}

/// The retained offline status a robot leaves as its last will.
pub fn offline_will(robot_id: &str) -> Result<LastWill, SyncError> {
    let payload = super::wire::encode(&super::wire::Status {
        v: super::wire::WIRE_VERSION,
        state: super::wire::Presence::Offline,
    })?;
    Ok(LastWill::new(super::topics::topic(robot_id, super::topics::Leaf::Status), payload, QoS::AtLeastOnce, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_tls_and_credentials() {
        let b = BrokerConfig::parse("mqtt://127.0.0.1:1999").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.tls), ("127.0.0.1", 1999, false));
        let b = BrokerConfig::parse("mqtts://robot-7:s%40cret@broker.example").unwrap();
        assert_eq!((b.port, b.tls), (8883, true));
        assert_eq!((b.username.as_deref(), b.password.as_deref()), (Some("robot-7"), Some("s@cret")));
        assert!(!format!("{b:?}").contains("s@cret"));
    }

    #[test]
    fn refuses_other_schemes_and_paths_without_echoing_passwords() {
        assert!(BrokerConfig::parse("http://x").is_err());
        assert!(BrokerConfig::parse("mqtt://x/topic").is_err());
        let e = BrokerConfig::parse("mqtt://u:hunter2@x/topic").unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(BrokerConfig::parse("not a url").is_err());
    }
}
