//! Plain value types shared by the capability traits: poses, colours,
//! battery and gripper states, camera frames and detections.

use serde::{Deserialize, Serialize};

/// A planar pose: metres in the world (or odometry) frame, heading in
/// degrees, counter-clockwise positive, 0 facing +x.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Pose {
    pub x: f64,
    pub y: f64,
    pub heading_deg: f64,
}

impl Pose {
    pub const fn new(x: f64, y: f64, heading_deg: f64) -> Self {
        Self { x, y, heading_deg }
    }

    /// Straight-line distance to another pose, in metres.
    pub fn distance_to(&self, other: &Pose) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }
}

/// Wrap an angle in degrees into (-180, 180].
pub fn wrap_deg(a: f64) -> f64 {
    let mut r = a % 360.0;
    if r > 180.0 {
        r -= 360.0;
    } else if r <= -180.0 {
        r += 360.0;
    }
    r
}

/// An RGB colour, 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const OFF: Rgb = Rgb { r: 0, g: 0, b: 0 };

    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    /// The named colours of the rover's LED tool.
    pub fn from_name(name: &str) -> Option<Rgb> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "off" | "black" => Rgb::new(0, 0, 0),
            "red" => Rgb::new(255, 0, 0),
            "green" => Rgb::new(0, 255, 0),
            "blue" => Rgb::new(0, 0, 255),
            "yellow" => Rgb::new(255, 255, 0),
            "white" => Rgb::new(255, 255, 255),
            "purple" => Rgb::new(128, 0, 128),
            "orange" => Rgb::new(255, 165, 0),
            _ => return None,
        })
    }
}

/// Battery reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BatteryState {
    /// State of charge, 0.0 (empty) to 1.0 (full).
    pub charge: f64,
    pub voltage_v: f64,
}

/// Position of the gripper jaws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GripperPosition {
    Open,
    Closed,
}

/// What the gripper reports: jaw position and whether something is held
/// (a real gripper knows this from jaw travel or motor current).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GripperState {
    pub position: GripperPosition,
    pub holding: bool,
}

/// An RGB8 image, row-major, `width * height * 3` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// Something a detector recognised, relative to the robot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Lower-case label including colour, e.g. `red ball`.
    pub label: String,
    /// Bearing from the robot's heading, degrees, left positive.
    pub bearing_deg: f64,
    /// Distance from the robot centre, metres.
    pub distance_m: f64,
}
