//! The world the simulated rover lives in: walls, rooms and the objects
//! lying about, in the world frame (which is also the odometry frame, with
//! the dock at the origin).
//!
//! The map is data, not behaviour: the world module moves the rover through
//! it, and the sensors and camera query it. Only one map exists today,
//! [`house`], matching the places in `boards/sim-rover.toml`.

mod house;

pub use house::house;

use robot_hal::Rgb;

use crate::geometry::{Segment, Vec2};

/// A rectangular room, used to colour walls and label the SVG map.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub name: &'static str,
    pub min: Vec2,
    pub max: Vec2,
    /// Wall paint seen from inside this room.
    pub wall_color: Rgb,
}

impl Room {
    pub fn contains(&self, p: Vec2) -> bool {
        (self.min.x..=self.max.x).contains(&p.x) && (self.min.y..=self.max.y).contains(&p.y)
    }
}

/// How an object is drawn by the camera and on the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Ball,
    Box,
}

/// An object placed in the map at the start of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSpec {
    /// Lower-case label with colour, what the detector reports.
    pub label: &'static str,
    pub position: Vec2,
    pub radius: f64,
    pub color: Rgb,
    pub shape: Shape,
}

/// A marked stretch of wall (a door that stays closed).
#[derive(Debug, Clone, PartialEq)]
pub struct Marking {
    pub name: &'static str,
    pub segment: Segment,
    pub color: Rgb,
}

/// Walls, rooms, markings and the initial objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    pub walls: Vec<Segment>,
    pub rooms: Vec<Room>,
    pub markings: Vec<Marking>,
    pub objects: Vec<ObjectSpec>,
    /// Bounding box of the outer walls.
    pub bounds: (Vec2, Vec2),
}

impl Map {
    /// Distance from `p` to the nearest wall.
    pub fn clearance(&self, p: Vec2) -> f64 {
        self.walls.iter().map(|w| w.distance_to(p)).fold(f64::INFINITY, f64::min)
    }

    /// Whether a disc of `radius` at `p` overlaps a wall or lies outside
    /// the house.
    pub fn collides(&self, p: Vec2, radius: f64) -> bool {
        let (lo, hi) = self.bounds;
        let outside = p.x < lo.x || p.x > hi.x || p.y < lo.y || p.y > hi.y;
        outside || self.walls.iter().any(|w| w.distance_to(p) < radius)
    }

    /// Whether nothing blocks the straight line from `p` to `q`.
    pub fn line_of_sight(&self, p: Vec2, q: Vec2) -> bool {
        !self.walls.iter().any(|w| w.crosses(p, q))
    }

    /// First wall along a ray: distance and wall index.
    pub fn cast(&self, origin: Vec2, dir: Vec2) -> Option<(f64, usize)> {
        let mut best: Option<(f64, usize)> = None;
        for (i, w) in self.walls.iter().enumerate() {
            if let Some(t) = w.ray_hit(origin, dir) {
                if best.is_none_or(|(bt, _)| t < bt) {
                    best = Some((t, i));
                }
            }
        }
        best
    }

    /// The room containing `p`, if any.
    pub fn room_at(&self, p: Vec2) -> Option<&Room> {
        self.rooms.iter().find(|r| r.contains(p))
    }
}
