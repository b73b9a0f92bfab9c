//! Payloads: JSON objects with a version field `v`, so a host and robots of
//! different releases can tell what they are reading, and a human can read
//! them with `mosquitto_sub`. JSON costs bytes over postcard, but memory
//! batches are small and rare next to the camera, and debuggability of a
//! fleet protocol is worth more than those bytes.
//!
//! Every decoder checks the size before parsing (a broker may be configured
//! with a larger limit than ours) and refuses versions it does not know,
//! rather than guessing what newer fields mean.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::memory::{Hlc, NoteKind, PlaceSource};

/// The payload version this runtime writes and reads.
pub const WIRE_VERSION: u16 = 1;

/// The largest payload sent or accepted on any topic. Mosquitto's default
/// `message_size_limit` is far larger; this keeps one message's memory use
/// small on a Pi.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The largest single memory record; a bigger one (an episode with a huge
/// step list) goes up as [`RecordBody::Oversize`] so it cannot stall the
/// outbox forever.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The longest command text the host may send.
pub const MAX_COMMAND_BYTES: usize = 16 * 1024;

/// Why a payload was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    #[error("payload of {size} bytes is over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("payload version {found} is not known (this runtime reads {known})")]
    Version { found: u16, known: u16 },
    #[error("malformed payload: {0}")]
    Malformed(String),
}

/// Memory records going up, covering the sequence interval
/// `(from_seq, through_seq]`: every record of the robot's outbox in that
/// interval that still exists is in `records`; numbers missing from it were
/// superseded (a place moved again and took a newer number) or deleted by
/// retention before they were sent, so the host may count the whole interval
/// as done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryUp {
    pub v: u16,
    pub robot_id: String,
    /// Which memory file the numbers belong to (a fresh file starts at 1 again).
    pub epoch: i64,
    pub from_seq: i64,
    pub through_seq: i64,
    pub records: Vec<Record>,
}

/// One memory record: its outbox sequence number, clock and content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: i64,
    pub hlc: Hlc,
    /// The record's stable id (`<robot_id>:<seq>`, or the place name).
    pub uid: String,
    #[serde(flatten)]
    pub body: RecordBody,
}

/// What a record holds, by table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordBody {
    Place {
        name: String,
        x: f64,
        y: f64,
        heading_deg: Option<f64>,
        source: PlaceSource,
    },
    Object {
        label: String,
        colour: Option<String>,
        x: f64,
        y: f64,
        seen_at_us: u64,
    },
    Episode {
        command: String,
        program: String,
        decision: String,
        status: String,
        reason: String,
        steps: Json,
        started_at_us: u64,
        ended_at_us: u64,
    },
    Note {
        note_kind: NoteKind,
        text: String,
        created_at_us: u64,
    },
    /// A record too large to send; the host keeps the marker so the gap is
    /// explained rather than silent.
    Oversize {
        table: String,
        bytes: usize,
    },
}

/// The host's cumulative acknowledgement: every number up to and including
/// `through_seq` of `epoch` is in the host's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryAck {
    pub v: u16,
    pub epoch: i64,
    pub through_seq: i64,
}

/// Places the fleet shares, pushed down to a robot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryDown {
    pub v: u16,
    pub places: Vec<FleetPlace>,
}

/// One shared place with the clock of the write that set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetPlace {
    pub name: String,
    pub x: f64,
    pub y: f64,
    pub heading_deg: Option<f64>,
    pub hlc: Hlc,
    /// The robot whose write this is.
    pub origin: String,
}

/// The retained presence message; the offline one is also the last will.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub v: u16,
    pub state: Presence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Offline,
}

/// Text or a program for the robot to run, from `robot host send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub v: u16,
    /// Chosen by the sender so replies and events can name the command.
    pub id: String,
    pub text: String,
}

/// Something that happened on the robot (a run finished, the kill switch
/// latched), for the host's fleet view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u16,
    pub kind: String,
    pub at_us: u64,
    #[serde(default)]
    pub detail: Json,
}

/// The robot's latest vital signs; sent at QoS 0 because only the newest matters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    pub v: u16,
    pub at_us: u64,
    /// Records written but not yet acknowledged by the host.
    pub outbox_pending: i64,
    pub acked_through: i64,
    #[serde(default)]
    pub detail: Json,
}

/// Anything with a version field.
pub trait Versioned {
    fn version(&self) -> u16;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(impl Versioned for $t { fn version(&self) -> u16 { self.v } })*};
}
versioned!(MemoryUp, MemoryAck, MemoryDown, Status, Command, Event, Telemetry);

/// Serialise a payload, refusing one over [`MAX_PAYLOAD_BYTES`].
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, WireError> {
    let bytes = serde_json::to_vec(msg).map_err(|e| WireError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(WireError::TooLarge { size: bytes.len(), limit: MAX_PAYLOAD_BYTES });
    }
    Ok(bytes)
}

/// Parse a payload: size first, then JSON, then the version.
pub fn decode<T: DeserializeOwned + Versioned>(bytes: &[u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(WireError::TooLarge { size: bytes.len(), limit: MAX_PAYLOAD_BYTES });
    }
    // Look at `v` alone first, so a newer payload is reported as a version
    // mismatch rather than as whatever field it changed.
    #[derive(Deserialize)]
    struct V {
        v: u16,
    }
    let v: V = serde_json::from_slice(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    if v.v != WIRE_VERSION {
        return Err(WireError::Version { found: v.v, known: WIRE_VERSION });
    }
    let msg: T = serde_json::from_slice(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    // `v` was read from the same bytes; checked again on the typed value so a
    // type whose field is renamed cannot slip past.
    if msg.version() != WIRE_VERSION {
        return Err(WireError::Version { found: msg.version(), known: WIRE_VERSION });
    }
    Ok(msg)
}

/// The encoded size of one record, for batching.
pub fn record_size(r: &Record) -> Result<usize, WireError> {
    serde_json::to_vec(r).map(|b| b.len()).map_err(|e| WireError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_check() {
        let ack = MemoryAck { v: WIRE_VERSION, epoch: 7, through_seq: 42 };
        let bytes = encode(&ack).unwrap();
        assert_eq!(decode::<MemoryAck>(&bytes).unwrap(), ack);
        let newer = br#"{"v":2,"epoch":7,"through_seq":42,"extra":true}"#;
        assert!(matches!(decode::<MemoryAck>(newer), Err(WireError::Version { found: 2, .. })));
    }

    #[test]
    fn oversized_and_garbage_payloads_are_errors_not_panics() {
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert!(matches!(decode::<MemoryAck>(&big), Err(WireError::TooLarge { .. })));
        for junk in [&b""[..], b"{", b"null", b"{\"v\":1}", b"\xff\xfe", b"{\"v\":-1}"] {
            assert!(decode::<MemoryUp>(junk).is_err());
        }
    }

    #[test]
    fn records_carry_their_kind_tag() {
        let r = Record {
            seq: 3,
            hlc: Hlc { wall_ms: 5, counter: 1 },
            uid: "r:3".into(),
            body: RecordBody::Note { note_kind: NoteKind::Preference, text: "slow".into(), created_at_us: 9 },
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["kind"], "note");
        assert_eq!(json["note_kind"], "preference");
        assert_eq!(serde_json::from_value::<Record>(json).unwrap(), r);
    }
}
