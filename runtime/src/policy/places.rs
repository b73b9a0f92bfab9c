//! [`PlaceLookup`]: how the policy learns where `go_to` and `dock` lead,
//! so it can dead-reckon a plan's path before anything moves.
//!
//! The runtime's [`PlaceMemory`] answers with its roadmap routes (the
//! points the robot will really drive through); a bare [`BoardFile`]
//! answers with the declared places, reached in a straight line.

use robot_hal::board::BoardFile;
use robot_hal::Pose;

use crate::places::PlaceMemory;

/// Where named places are.
pub trait PlaceLookup {
    /// The pose of a place (by name or alias), or `None` if unknown.
    fn place_pose(&self, name: &str) -> Option<Pose>;

    /// The heading the robot is turned to on arrival, or `None` when the
    /// place has no heading and the robot stops facing along its last
    /// segment.
    fn place_heading(&self, name: &str) -> Option<f64> {
        self.place_pose(name).map(|p| p.heading_deg)
    }

    /// The points the robot drives through from `from` to the place, ending
    /// at the place; `None` if the place is unknown or unreachable.
    fn route(&self, from: Pose, name: &str) -> Option<Vec<Pose>> {
        let _ = from;
        self.place_pose(name).map(|p| vec![p])
    }

    /// The names of the known places, for telling the operator what an
    /// unknown place could have been.
    fn known_places(&self) -> Vec<String> {
        Vec::new()
    }
}

impl PlaceLookup for BoardFile {
    fn place_pose(&self, name: &str) -> Option<Pose> {
        self.place(name).map(|p| Pose::new(p.x, p.y, p.heading_deg.unwrap_or(0.0)))
    }

    fn place_heading(&self, name: &str) -> Option<f64> {
        self.place(name).and_then(|p| p.heading_deg)
    }

    fn known_places(&self) -> Vec<String> {
        self.places.iter().map(|p| p.name.clone()).collect()
    }
}

impl PlaceLookup for PlaceMemory {
    fn place_pose(&self, name: &str) -> Option<Pose> {
        self.get(name).map(|p| p.pose)
    }

    fn place_heading(&self, name: &str) -> Option<f64> {
        self.get(name).filter(|p| p.has_heading).map(|p| p.pose.heading_deg)
    }

    fn route(&self, from: Pose, name: &str) -> Option<Vec<Pose>> {
        PlaceMemory::route(self, from, name)
    }

    fn known_places(&self) -> Vec<String> {
        self.names()
    }
}
