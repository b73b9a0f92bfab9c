//! The reference house: a hallway across the middle, three rooms north of
//! it, three south, one doorway into each, and five coloured objects.
//!
//! Coordinates are metres in the odometry frame of `boards/sim-rover.toml`:
//! the dock is the origin and the rover starts there facing +x, down the
//! hallway. Every doorway is 1 m wide and centred on the x of the board's
//! roadmap edge through it, so a 0.3 m rover passes with 0.35 m to spare.

use robot_hal::Rgb;

use super::{Map, Marking, ObjectSpec, Room, Shape};
use crate::geometry::{Segment, Vec2};

const WEST: f64 = -1.5;
const EAST: f64 = 11.5;
const SOUTH: f64 = -5.0;
const NORTH: f64 = 7.0;
/// The hallway's north and south walls.
const HALL_N: f64 = 2.5;
const HALL_S: f64 = -1.2;

/// A wall along `y` from `x0` to `x1` with door gaps `[from, to]` left open.
fn wall_with_doors(y: f64, x0: f64, x1: f64, doors: &[(f64, f64)], out: &mut Vec<Segment>) {
    let mut x = x0;
    for &(a, b) in doors {
        out.push(Segment::new(x, y, a, y));
        x = b;
    }
    out.push(Segment::new(x, y, x1, y));
}

fn room(name: &'static str, x0: f64, y0: f64, x1: f64, y1: f64, c: (u8, u8, u8)) -> Room {
    Room { name, min: Vec2::new(x0, y0), max: Vec2::new(x1, y1), wall_color: Rgb::new(c.0, c.1, c.2) }
}

fn object(label: &'static str, x: f64, y: f64, radius: f64, c: (u8, u8, u8), shape: Shape) -> ObjectSpec {
    ObjectSpec { label, position: Vec2::new(x, y), radius, color: Rgb::new(c.0, c.1, c.2), shape }
}

/// Build the house.
pub fn house() -> Map {
    let mut walls = vec![
        Segment::new(WEST, SOUTH, EAST, SOUTH),
        Segment::new(EAST, SOUTH, EAST, NORTH),
        Segment::new(EAST, NORTH, WEST, NORTH),
        Segment::new(WEST, NORTH, WEST, SOUTH),
        // Between the north rooms and between the south rooms.
        Segment::new(4.0, HALL_N, 4.0, NORTH),
        Segment::new(8.0, HALL_N, 8.0, NORTH),
        Segment::new(3.5, SOUTH, 3.5, HALL_S),
        Segment::new(7.0, SOUTH, 7.0, HALL_S),
    ];
    // Living room, kitchen, office doors.
    wall_with_doors(HALL_N, WEST, EAST, &[(1.0, 2.0), (5.5, 6.5), (9.25, 10.25)], &mut walls);
    // Bedroom, bathroom, garage doors.
    wall_with_doors(HALL_S, WEST, EAST, &[(1.0, 2.0), (4.75, 5.75), (8.75, 9.75)], &mut walls);

    let rooms = vec![
        room("hallway", WEST, HALL_S, EAST, HALL_N, (200, 190, 170)),
        room("living room", WEST, HALL_N, 4.0, NORTH, (150, 180, 140)),
        room("kitchen", 4.0, HALL_N, 8.0, NORTH, (230, 220, 150)),
        room("office", 8.0, HALL_N, EAST, NORTH, (140, 160, 200)),
        room("bedroom", WEST, SOUTH, 3.5, HALL_S, (200, 160, 190)),
        room("bathroom", 3.5, SOUTH, 7.0, HALL_S, (150, 210, 215)),
        room("garage", 7.0, SOUTH, EAST, HALL_S, (160, 160, 160)),
    ];

    let markings = vec![Marking {
        name: "front door",
        segment: Segment::new(EAST, 0.15, EAST, 1.15),
        color: Rgb::new(120, 70, 30),
    }];

    // Radii stay at or under 0.07 m: the runtime grips from 0.22 m off an
    // object's centre and aborts a drive when the range sensor (on the
    // front edge, 0.15 m out) reads an obstacle nearer than what is left to
    // drive, which a wider object would trigger on the final approach.
    let objects = vec![
        object("red ball", 2.5, 5.5, 0.07, (220, 30, 30), Shape::Ball),
        object("blue cup", 6.8, 5.8, 0.06, (30, 60, 220), Shape::Box),
        object("green box", 0.5, -4.0, 0.07, (30, 170, 50), Shape::Box),
        object("yellow block", 3.0, 1.9, 0.06, (240, 210, 20), Shape::Box),
        object("toy car", 10.2, -4.0, 0.07, (230, 120, 20), Shape::Box),
    ];

    Map { walls, rooms, markings, objects, bounds: (Vec2::new(WEST, SOUTH), Vec2::new(EAST, NORTH)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dock_has_room_ahead_and_to_the_left() {
        let m = house();
        let dock = Vec2::default();
        let ahead = m.cast(dock, Vec2::new(1.0, 0.0)).map(|(t, _)| t).unwrap_or(0.0);
        let left = m.cast(dock, Vec2::new(0.0, 1.0)).map(|(t, _)| t).unwrap_or(0.0);
        assert!(ahead - 0.15 >= 6.0, "only {ahead} m ahead");
        assert!(left - 0.15 >= 2.0, "only {left} m to the left");
    }

    #[test]
    fn every_object_is_inside_a_room_clear_of_walls() {
        let m = house();
        for o in &m.objects {
            assert!(m.room_at(o.position).is_some(), "{} is outside", o.label);
            assert!(m.clearance(o.position) > o.radius, "{} is in a wall", o.label);
        }
    }
}
