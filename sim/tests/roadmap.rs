//! The house matches the board file: every place lies in its room, and a
//! rover can drive every roadmap edge without touching a wall.

mod common;

use robot_sim::geometry::Vec2;
use robot_sim::map::house;
use robot_sim::ROVER_RADIUS_M;

fn point(board: &robot_hal::board::BoardFile, name: &str) -> Vec2 {
    let found = board.places.iter().chain(board.waypoints.iter()).find(|p| p.name == name);
    match found {
        Some(p) => Vec2::new(p.x, p.y),
        None => panic!("roadmap names unknown point `{name}`"),
    }
}

#[test]
fn roadmap_edges_are_collision_free() {
    let board = common::board();
    let map = house();
    assert!(board.navigation.roadmap.len() >= 13);
    for [a, b] in &board.navigation.roadmap {
        let (p, q) = (point(&board, a), point(&board, b));
        let n = (p.distance(q) / 0.01).ceil().max(1.0) as usize;
        for i in 0..=n {
            let at = p.plus(q.minus(p).scale(i as f64 / n as f64));
            assert!(
                !map.collides(at, ROVER_RADIUS_M),
                "edge {a} -> {b} touches a wall at ({:.2}, {:.2}), clearance {:.3}",
                at.x,
                at.y,
                map.clearance(at)
            );
        }
    }
}

#[test]
fn rooms_hold_their_places() {
    let board = common::board();
    let map = house();
    for p in &board.places {
        let at = Vec2::new(p.x, p.y);
        let room = map.room_at(at).map(|r| r.name);
        match p.name.as_str() {
            "dock" | "front door" => assert_eq!(room, Some("hallway"), "{}", p.name),
            name => assert_eq!(room, Some(name)),
        }
    }
}

#[test]
fn a_wall_does_collide() {
    // The check above must be able to fail: a point on a wall collides.
    let map = house();
    assert!(map.collides(Vec2::new(0.0, 2.5), ROVER_RADIUS_M));
    assert!(map.collides(Vec2::new(0.0, 2.4), ROVER_RADIUS_M));
    assert!(!map.collides(Vec2::new(1.5, 2.5), ROVER_RADIUS_M));
}
