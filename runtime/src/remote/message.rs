//! The wire format of remote kill-switch messages, and how they are signed
//! and checked.
//!
//! A message is one JSON object (at most [`MAX_MESSAGE_BYTES`], checked
//! before any parsing):
//!
//! ```json
//! {"robot_id":"sim-rover-1","action":"engage","counter":7,
//!  "timestamp_ms":1700000000000,"issuer":"console","signature":"<64 hex digits>"}
//! ```
//!
//! The signature is HMAC-SHA256 with the robot's [`KillKey`] over a
//! canonical byte string built from the fields (see [`KillFields::signing_bytes`]),
//! never over the JSON text: JSON can be re-serialised in many byte-different
//! ways, and a signature over one of them would break, or worse be checked
//! against a different reading of the fields. Identifiers are restricted to
//! characters that cannot contain the separator, so the string is
//! unambiguous. A host calls [`sign`]; the robot calls [`verify`], which
//! returns a [`VerifiedKill`], the only form the kill handler acts on.
//! Whether the message is fresh (counter, timestamp) is checked later, by
//! [`super::replay`].

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::key::{KillKey, KEY_LEN};

/// Largest accepted message; anything longer is refused unread.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// Longest `robot_id` or `issuer`.
pub const MAX_ID_LEN: usize = 64;

/// First line of the signed string: names the format, so a signature made
/// for another purpose (or a later version) never verifies as this one.
pub const SIGNING_DOMAIN: &str = "robot-kill-v1";

/// Hex digits of an HMAC-SHA256 signature.
const SIGNATURE_HEX_LEN: usize = 64;

/// SHA-256's block size: HMAC keys are padded to it.
const HMAC_BLOCK_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// What a kill-switch message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Stop the robot: engage the latch.
    Engage,
    /// Clear a stop, if the robot's own conditions allow it. Never starts
    /// anything moving.
    Release,
    /// The operator is reachable: feeds the operator-link watchdog
    /// ([`super::OperatorLink`]). Published without the retain flag; changes
    /// nothing but the issuer's counter and the watchdog's deadline.
    Heartbeat,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Engage => "engage",
            Action::Release => "release",
            Action::Heartbeat => "heartbeat",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillFields {
    pub robot_id: String,
    pub action: Action,
    /// Strictly increasing per issuer, starting at 1.
    pub counter: u64,
    /// When the host signed it: milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Who sent it (an operator console, a fleet service): the replay
    /// counter is kept per issuer, and the stop's reason names it.
    pub issuer: String,
}

/// A message as it travels (JSON). Unknown fields are refused, so a field a
/// sender believes is signed cannot be silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KillMessage {
    pub robot_id: String,
    pub action: Action,
    pub counter: u64,
    pub timestamp_ms: u64,
    pub issuer: String,
    /// HMAC-SHA256 of [`KillFields::signing_bytes`], 64 hex digits.
    pub signature: String,
}

/// A message whose signature checked out with this robot's key. Only
/// [`verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKill {
    fields: KillFields,
}

impl VerifiedKill {
    pub fn fields(&self) -> &KillFields {
        &self.fields
    }
}

/// A message that is not a valid, authentic kill-switch message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    #[error("message of {len} bytes is over the {max}-byte limit")]
    Oversize { len: usize, max: usize },
    #[error("message is not a kill-switch message: {0}")]
    Malformed(String),
    #[error("field `{field}` is invalid: {why}")]
    InvalidField { field: &'static str, why: &'static str },
    /// The signature does not match the fields under this robot's key:
    /// forged, altered in transit, or signed with another robot's key.
    #[error("signature does not verify with this robot's key")]
    BadSignature,
}

impl KillFields {
    /// The bytes the signature covers: six lines joined by `\n`, no
    /// trailing newline: [`SIGNING_DOMAIN`], robot_id, action, counter and
    /// timestamp_ms in decimal, issuer.
    pub fn signing_bytes(&self) -> Vec<u8> {
        format!(
            "{SIGNING_DOMAIN}\n{}\n{}\n{}\n{}\n{}",
            self.robot_id, self.action, self.counter, self.timestamp_ms, self.issuer
        )
        .into_bytes()
    }

    fn validate(&self) -> Result<(), MessageError> {
        check_id("robot_id", &self.robot_id)?;
        check_id("issuer", &self.issuer)?;
        if self.counter == 0 {
            return Err(MessageError::InvalidField { field: "counter", why: "counters start at 1" });
        }
        Ok(())
    }
}

/// Whether `s` may be used as a robot id or issuer: 1 to 64 of
/// `A-Z a-z 0-9 . _ - : @`. No whitespace, so no field can contain the
/// signing string's separator.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:@".contains(&b))
}

fn check_id(field: &'static str, s: &str) -> Result<(), MessageError> {
    if is_valid_id(s) {
        Ok(())
    } else {
        Err(MessageError::InvalidField { field, why: "must be 1 to 64 of A-Z a-z 0-9 . _ - : @" })
    }
}

fn mac(key: &KillKey) -> HmacSha256 {
    // HMAC pads a key shorter than the hash's block with zeros (RFC 2104),
    // so keying with the padded block is the same MAC as keying with the 32
    // bytes, through the constructor that cannot fail.
    let mut block = [0u8; HMAC_BLOCK_LEN];
    block[..KEY_LEN].copy_from_slice(key.bytes());
    HmacSha256::new(&block.into())
}

/// Sign a message (host side). Refuses fields the robot would refuse, so a
/// host finds out before sending.
pub fn sign(key: &KillKey, fields: KillFields) -> Result<KillMessage, MessageError> {
    fields.validate()?;
    let mut m = mac(key);
    m.update(&fields.signing_bytes());
    let signature = hex::encode(m.finalize().into_bytes());
    let KillFields { robot_id, action, counter, timestamp_ms, issuer } = fields;
    Ok(KillMessage { robot_id, action, counter, timestamp_ms, issuer, signature })
}

/// Parse and authenticate a message (robot side): size first, then JSON,
/// then the fields' syntax, then the signature (compared in constant time).
pub fn verify(key: &KillKey, payload: &[u8]) -> Result<VerifiedKill, MessageError> {
    KillMessage::parse(payload)?.verify(key)
}

impl KillMessage {
    /// Parse a payload without checking its signature.
    pub fn parse(payload: &[u8]) -> Result<KillMessage, MessageError> {
        // Before parsing: a parser handed megabytes from the network is
        // already the attack.
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(MessageError::Oversize { len: payload.len(), max: MAX_MESSAGE_BYTES });
        }
        serde_json::from_slice(payload).map_err(|e| MessageError::Malformed(e.to_string()))
    }

    /// The JSON a host publishes.
    pub fn to_json(&self) -> String {
        // Strings and integers only: serialising this struct cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Check the signature with `key`.
    pub fn verify(self, key: &KillKey) -> Result<VerifiedKill, MessageError> {
        let KillMessage { robot_id, action, counter, timestamp_ms, issuer, signature } = self;
        let fields = KillFields { robot_id, action, counter, timestamp_ms, issuer };
        fields.validate()?;
        if signature.len() != SIGNATURE_HEX_LEN {
            return Err(MessageError::InvalidField { field: "signature", why: "must be 64 hex digits" });
        }
        let tag = hex::decode(&signature)
            .map_err(|_| MessageError::InvalidField { field: "signature", why: "must be 64 hex digits" })?;
        let mut m = mac(key);
        m.update(&fields.signing_bytes());
        m.verify_slice(&tag).map_err(|_| MessageError::BadSignature)?;
        Ok(VerifiedKill { fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn key() -> KillKey {
        KillKey::from_hex(KEY_HEX).unwrap()
    }

    fn fields() -> KillFields {
        KillFields {
            robot_id: "sim-rover-1".into(),
            action: Action::Engage,
            counter: 7,
            timestamp_ms: 1_700_000_000_000,
            issuer: "console".into(),
        }
    }

    #[test]
    fn the_signature_matches_openssl_for_the_documented_signing_string() {
        // Computed with the command in docs/remote-kill.md:
        // printf 'robot-kill-v1\nsim-rover-1\nengage\n7\n1700000000000\nconsole' \
        //   | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f
        let msg = sign(&key(), fields()).unwrap();
        assert_eq!(msg.signature, "e441d7cc46d6d07caefa7601da78d3346713329b8aaccc952c49f8c4d204b56d");
        assert_eq!(fields().signing_bytes(), b"robot-kill-v1\nsim-rover-1\nengage\n7\n1700000000000\nconsole".to_vec());
    }

    #[test]
    fn a_signed_message_round_trips_through_json_and_verifies() {
        let msg = sign(&key(), fields()).unwrap();
        let verified = verify(&key(), msg.to_json().as_bytes()).unwrap();
        assert_eq!(verified.fields(), &fields());
    }

    #[test]
    fn any_change_to_a_signed_field_breaks_the_signature() {
        let msg = sign(&key(), fields()).unwrap();
        let mut changed = vec![msg.clone(), msg.clone(), msg.clone(), msg.clone(), msg.clone()];
        changed[0].robot_id = "sim-rover-2".into();
        changed[1].action = Action::Release;
        changed[2].counter += 1;
        changed[3].timestamp_ms += 1;
        changed[4].issuer = "console2".into();
        for m in changed {
            assert_eq!(m.verify(&key()), Err(MessageError::BadSignature));
        }
    }

    #[test]
    fn another_key_does_not_verify() {
        let msg = sign(&key(), fields()).unwrap();
        let other = KillKey::from_bytes([9; 32]).unwrap();
        assert_eq!(verify(&other, msg.to_json().as_bytes()), Err(MessageError::BadSignature));
    }

    #[test]
    fn oversize_is_refused_before_parsing() {
        // Valid JSON padded past the limit: refused for its size alone.
        let msg = sign(&key(), fields()).unwrap().to_json();
        let padded = format!("{msg}{}", " ".repeat(MAX_MESSAGE_BYTES));
        assert_eq!(
            verify(&key(), padded.as_bytes()),
            Err(MessageError::Oversize { len: padded.len(), max: MAX_MESSAGE_BYTES })
        );
    }

    #[test]
    fn malformed_payloads_are_refused() {
        let msg = sign(&key(), fields()).unwrap().to_json();
        let extra = msg.replacen('{', "{\"level\":\"L5\",", 1);
        let dup = msg.replacen('{', "{\"counter\":99,", 1);
        for bad in ["", "{", "null", "[1]", "{\"robot_id\":1}", &extra, &dup, &msg.replace("engage", "dance")] {
            assert!(matches!(verify(&key(), bad.as_bytes()), Err(MessageError::Malformed(_))), "{bad}");
        }
        assert!(matches!(verify(&key(), b"\xff\xfe"), Err(MessageError::Malformed(_))));
    }

    #[test]
    fn invalid_fields_are_refused_on_both_sides() {
        let mut f = fields();
        f.issuer = "two\nlines".into();
        assert!(matches!(sign(&key(), f), Err(MessageError::InvalidField { field: "issuer", .. })));
        let mut f = fields();
        f.robot_id = String::new();
        assert!(matches!(sign(&key(), f), Err(MessageError::InvalidField { field: "robot_id", .. })));
        let mut f = fields();
        f.counter = 0;
        assert!(matches!(sign(&key(), f), Err(MessageError::InvalidField { field: "counter", .. })));

        let mut msg = sign(&key(), fields()).unwrap();
        msg.signature.pop();
        assert!(matches!(msg.verify(&key()), Err(MessageError::InvalidField { field: "signature", .. })));
        let mut msg = sign(&key(), fields()).unwrap();
        msg.signature = "zz".repeat(32);
        assert!(matches!(msg.verify(&key()), Err(MessageError::InvalidField { field: "signature", .. })));
        let mut msg = sign(&key(), fields()).unwrap();
        msg.issuer = "x".repeat(MAX_ID_LEN + 1);
        assert!(matches!(msg.verify(&key()), Err(MessageError::InvalidField { field: "issuer", .. })));
    }

    #[test]
    fn an_uppercase_signature_verifies() {
        // The hex is only a transport encoding of the tag.
        let mut msg = sign(&key(), fields()).unwrap();
        msg.signature = msg.signature.to_uppercase();
        assert!(msg.verify(&key()).is_ok());
    }
}
