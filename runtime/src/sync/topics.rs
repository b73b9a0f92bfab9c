//! The topic tree. Everything a robot sends or receives lives under
//! `robots/<robot_id>/`, so one broker ACL pattern (`robots/%c/#` with the
//! client id as the robot id, or `%u` with the user name) confines a robot to
//! its own subtree. Directions, QoS and retention (docs/sync.md has the
//! table and the reasons):
//!
//! | topic                          | from  | QoS | retained |
//! |--------------------------------|-------|-----|----------|
//! | `robots/<id>/status`           | robot (and its last will) | 1 | yes |
//! | `robots/<id>/telemetry`        | robot | 0   | no       |
//! | `robots/<id>/events`           | robot | 1   | no       |
//! | `robots/<id>/memory/up`        | robot | 1   | no       |
//! | `robots/<id>/memory/ack`       | host  | 1   | no       |
//! | `robots/<id>/memory/down`      | host  | 1   | no       |
//! | `robots/<id>/commands`         | host  | 1   | no       |
//! | `robots/<id>/kill`             | host  | 1   | yes      |
//!
//! Hosts subscribe with wildcards; several hosts share the load through an
//! MQTT 5 shared subscription (`$share/<group>/robots/+/memory/up`).

use super::SyncError;

/// The root of every robot's subtree.
pub const ROOT: &str = "robots";

/// The longest robot id accepted; it appears in every topic and record uid.
pub const MAX_ROBOT_ID_LEN: usize = 64;

/// One leaf of a robot's subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Leaf {
    Status,
    Telemetry,
    Events,
    MemoryUp,
    MemoryAck,
    MemoryDown,
    Commands,
    Kill,
}

impl Leaf {
    pub const ALL: [Leaf; 8] = [
        Leaf::Status,
        Leaf::Telemetry,
        Leaf::Events,
        Leaf::MemoryUp,
        Leaf::MemoryAck,
        Leaf::MemoryDown,
        Leaf::Commands,
        Leaf::Kill,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Leaf::Status => "status",
            Leaf::Telemetry => "telemetry",
            Leaf::Events => "events",
            Leaf::MemoryUp => "memory/up",
            Leaf::MemoryAck => "memory/ack",
            Leaf::MemoryDown => "memory/down",
            Leaf::Commands => "commands",
            Leaf::Kill => "kill",
        }
    }

    /// Whether the robot publishes on it (the rest are the host's).
    pub fn from_robot(self) -> bool {
        matches!(self, Leaf::Status | Leaf::Telemetry | Leaf::Events | Leaf::MemoryUp)
    }
}

/// Whether `id` can be a robot id: it becomes a topic level, so the MQTT
/// wildcards and the level separator are out, and so is anything a broker
/// ACL pattern or a shell would read specially.
pub fn validate_robot_id(id: &str) -> Result<(), SyncError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ROBOT_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(SyncError::Invalid(format!(
            "robot id `{id}`: use 1 to {MAX_ROBOT_ID_LEN} letters, digits, `-`, `_` or `.`"
        )))
    }
}

/// The topic of one leaf for one robot.
pub fn topic(robot_id: &str, leaf: Leaf) -> String {
    format!("{ROOT}/{robot_id}/{}", leaf.as_str())
}

/// The filter a host subscribes with for one leaf of every robot, optionally
/// inside a shared-subscription group (so each message reaches one host).
pub fn all_robots(leaf: Leaf, share_group: Option<&str>) -> String {
    match share_group {
        Some(g) => format!("$share/{g}/{ROOT}/+/{}", leaf.as_str()),
        None => format!("{ROOT}/+/{}", leaf.as_str()),
    }
}

/// Split an incoming topic into its robot id and leaf; `None` for anything
/// outside the tree (a broker may deliver other topics to a `#` bridge).
pub fn parse(topic: &str) -> Option<(&str, Leaf)> {
    let rest = topic.strip_prefix(ROOT)?.strip_prefix('/')?;
    let (id, leaf) = rest.split_once('/')?;
    validate_robot_id(id).ok()?;
    let leaf = Leaf::ALL.into_iter().find(|l| l.as_str() == leaf)?;
    Some((id, leaf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_round_trips_through_parse() {
        for leaf in Leaf::ALL {
            assert_eq!(parse(&topic("rover-1", leaf)), Some(("rover-1", leaf)));
        }
    }

    #[test]
    fn foreign_and_malformed_topics_are_not_parsed() {
        for t in ["robots/rover/unknown", "robots//status", "fleet/rover/status", "robots/a+b/status", "robots/x"] {
            assert_eq!(parse(t), None, "{t}");
        }
    }

    #[test]
    fn robot_ids_with_topic_syntax_are_refused() {
        for bad in ["", "a/b", "a+", "#", "$SYS", "x y", &"a".repeat(65)] {
            assert!(validate_robot_id(bad).is_err(), "{bad}");
        }
        validate_robot_id("rover_2.lab-A").unwrap();
    }

    #[test]
    fn shared_filter_names_the_group() {
        assert_eq!(all_robots(Leaf::MemoryUp, Some("hosts")), "$share/hosts/robots/+/memory/up");
        assert_eq!(all_robots(Leaf::Status, None), "robots/+/status");
    }
}
