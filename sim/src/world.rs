//! The simulated world's state and its fixed-step physics.
//!
//! [`World`] holds everything that changes during a run: the rover's true
//! pose and its odometry estimate, battery, objects, gripper load, LED,
//! speech log and the trail of poses. [`World::step`] advances it by one
//! physics step of the board's `step_ms`, given the wheel speeds read from
//! the drive's command word; it is the only place the rover moves, so a run
//! is a pure function of the seed and the sequence of commands between
//! steps. The kill-switch schedule and the clock live in [`crate::sim`].

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use robot_hal::{Pose, Rgb};

use crate::geometry::{wrap_rad, Vec2};
use crate::map::{Map, Shape};

/// The rover is a disc of this radius for collisions.
pub const ROVER_RADIUS_M: f64 = 0.15;
/// Battery drained per second whatever the rover does (electronics).
pub const IDLE_DRAIN_PER_S: f64 = 1.0e-5;
/// The ground-truth trail is sampled at this simulated period.
pub const PATH_SAMPLE: Duration = Duration::from_millis(50);
/// The gripper reaches objects whose centre is this close to the rover's
/// centre...
pub const GRIP_REACH_M: f64 = 0.35;
/// ... and within this angle of straight ahead.
pub const GRIP_HALF_ANGLE_DEG: f64 = 30.0;
/// Iterations of the bisection that finds how far a blocked step may go;
/// 12 halvings of a step of at most a few millimetres is sub-micron.
const CONTACT_BISECTIONS: u32 = 12;

/// Fixed settings of a run, from the board file.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub step: Duration,
    pub track_width_m: f64,
    pub max_wheel_speed_mps: f64,
    pub odometry_noise: f64,
    pub battery_drain_per_m: f64,
}

/// An object in the world, as the simulator (not the robot) knows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimObject {
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub radius: f64,
    pub color: Rgb,
    pub shape: Shape,
    /// In the gripper: it moves with the rover and sensors ignore it.
    pub held: bool,
}

impl SimObject {
    pub fn position(&self) -> Vec2 {
        Vec2::new(self.x, self.y)
    }
}

/// A planar pose with the heading in radians, for integration.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct State {
    pub pos: Vec2,
    pub theta: f64,
}

impl State {
    pub fn pose(&self) -> Pose {
        Pose::new(self.pos.x, self.pos.y, wrap_rad(self.theta).to_degrees())
    }

    pub fn from_pose(p: Pose) -> State {
        State { pos: Vec2::new(p.x, p.y), theta: p.heading_deg.to_radians() }
    }

    /// Advance by wheel travel `dl`, `dr` (metres) on a base of `track`.
    fn integrate(&mut self, dl: f64, dr: f64, track: f64) {
        let ds = (dl + dr) / 2.0;
        let dth = (dr - dl) / track;
        let mid = self.theta + dth / 2.0;
        self.pos = self.pos.plus(Vec2::from_angle(mid).scale(ds));
        self.theta = wrap_rad(self.theta + dth);
    }
}

/// Everything that changes during a run.
#[derive(Debug)]
pub struct World {
    pub(crate) map: Map,
    pub(crate) params: Params,
    /// The clock's time: physics time plus any part-step remainder.
    pub(crate) now: Duration,
    /// Time up to which physics has been integrated (whole steps).
    pub(crate) phys: Duration,
    pub(crate) truth: State,
    pub(crate) odometry: State,
    rng: ChaCha8Rng,
    pub(crate) battery: f64,
    /// Metres driven (mean of both wheels), for warming the motors.
    pub(crate) driven_m: f64,
    pub(crate) objects: Vec<SimObject>,
    pub(crate) held: Option<usize>,
    pub(crate) led: Rgb,
    pub(crate) speech: Vec<(Duration, String)>,
    pub(crate) path: Vec<Pose>,
    next_sample: Duration,
    /// The bumper is pressed now.
    pub(crate) bumper: bool,
    /// How many separate contacts there were.
    pub(crate) bumps: u64,
    pub(crate) estop_at: Option<Duration>,
    pub(crate) faults: Vec<String>,
}

impl World {
    pub fn new(map: Map, params: Params, seed: u64, battery: f64) -> World {
        let objects = map
            .objects
            .iter()
            .map(|o| SimObject {
                label: o.label.to_string(),
                x: o.position.x,
                y: o.position.y,
                radius: o.radius,
                color: o.color,
                shape: o.shape,
                held: false,
            })
            .collect();
        World {
            map,
            params,
            now: Duration::ZERO,
            phys: Duration::ZERO,
            truth: State::default(),
            odometry: State::default(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            battery,
            driven_m: 0.0,
            objects,
            held: None,
            led: Rgb::OFF,
            speech: Vec::new(),
            path: vec![Pose::default()],
            next_sample: PATH_SAMPLE,
            bumper: false,
            bumps: 0,
            estop_at: None,
            faults: Vec::new(),
        }
    }

    /// A standard normal sample (Box-Muller), from the run's seeded stream.
    fn normal(&mut self) -> f64 {
        let u1: f64 = 1.0 - self.rng.gen::<f64>();
        let u2: f64 = self.rng.gen::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// One physics step with the given commanded wheel speeds.
    pub fn step(&mut self, left_mps: f64, right_mps: f64) {
        let p = &self.params;
        let dt = p.step.as_secs_f64();
        let track = p.track_width_m;
        let (l, r) = if self.battery > 0.0 { (left_mps, right_mps) } else { (0.0, 0.0) };
        let ds = (l + r) / 2.0 * dt;
        let dth = (r - l) / track * dt;
        // A disc turns freely against a wall, so only translation can be
        // blocked: find the largest fraction of it that stays clear.
        let dir = Vec2::from_angle(self.truth.theta + dth / 2.0);
        let mut frac = 1.0;
        let mut contact = false;
        if ds != 0.0 && self.map.collides(self.truth.pos.plus(dir.scale(ds)), ROVER_RADIUS_M) {
            contact = true;
            let (mut lo, mut hi) = (0.0, 1.0);
            for _ in 0..CONTACT_BISECTIONS {
                let mid = (lo + hi) / 2.0;
                if self.map.collides(self.truth.pos.plus(dir.scale(ds * mid)), ROVER_RADIUS_M) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            frac = lo;
        }
        if contact && !self.bumper {
            self.bumps += 1;
        }
        self.bumper = contact;

        // What the wheels really turned: a blocked rover's wheels stall.
        let ds = ds * frac;
        let dl = ds - dth * track / 2.0;
        let dr = ds + dth * track / 2.0;
        self.truth.pos = self.truth.pos.plus(dir.scale(ds));
        self.truth.theta = wrap_rad(self.truth.theta + dth);

        if dl != 0.0 || dr != 0.0 {
            // Encoder error is a random walk: its variance grows with the
            // distance rolled, so `odometry_noise` is the standard deviation
            // of the error over one metre, as a fraction of that metre.
            let sigma = self.params.odometry_noise;
            let (nl, nr) = (self.normal(), self.normal());
            let ml = dl + sigma * dl.abs().sqrt() * nl;
            let mr = dr + sigma * dr.abs().sqrt() * nr;
            self.odometry.integrate(ml, mr, track);
        }

        let rolled = (dl.abs() + dr.abs()) / 2.0;
        self.driven_m += rolled;
        self.battery = (self.battery - self.params.battery_drain_per_m * rolled - IDLE_DRAIN_PER_S * dt).max(0.0);

        if let Some(i) = self.held {
            let at = self.grip_point(self.objects.get(i).map_or(0.0, |o| o.radius));
            if let Some(o) = self.objects.get_mut(i) {
                o.x = at.x;
                o.y = at.y;
            }
        }

        self.phys += self.params.step;
        if self.phys >= self.next_sample {
            self.next_sample += PATH_SAMPLE;
            let pose = self.truth.pose();
            if self.path.last() != Some(&pose) {
                self.path.push(pose);
            }
        }
    }

    /// Where a held object of `radius` sits: just in front of the rover.
    fn grip_point(&self, radius: f64) -> Vec2 {
        self.truth.pos.plus(Vec2::from_angle(self.truth.theta).scale(ROVER_RADIUS_M + radius))
    }

    /// Jaws closed: take the nearest object within reach in front.
    pub fn grab(&mut self) {
        if self.held.is_some() {
            return;
        }
        let (pos, theta) = (self.truth.pos, self.truth.theta);
        let best = self
            .objects
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                let d = o.position().distance(pos);
                let to = o.position().minus(pos);
                let bearing = wrap_rad(to.y.atan2(to.x) - theta).to_degrees();
                d <= GRIP_REACH_M && bearing.abs() <= GRIP_HALF_ANGLE_DEG && self.map.line_of_sight(pos, o.position())
            })
            .min_by(|(_, a), (_, b)| a.position().distance(pos).total_cmp(&b.position().distance(pos)))
            .map(|(i, _)| i);
        if let Some(i) = best {
            self.held = Some(i);
            let at = self.grip_point(self.objects[i].radius);
            let o = &mut self.objects[i];
            o.held = true;
            o.x = at.x;
            o.y = at.y;
        }
    }

    /// Jaws opened: drop what is held just in front, short of any wall.
    pub fn release(&mut self) {
        let Some(i) = self.held.take() else { return };
        let dir = Vec2::from_angle(self.truth.theta);
        let wall = self.map.cast(self.truth.pos, dir).map_or(f64::INFINITY, |(t, _)| t);
        if let Some(o) = self.objects.get_mut(i) {
            let reach = (ROVER_RADIUS_M + o.radius + 0.02).min(wall - o.radius - 0.01).max(0.0);
            let at = self.truth.pos.plus(dir.scale(reach));
            o.held = false;
            o.x = at.x;
            o.y = at.y;
        }
    }

    /// Board temperature: warms slowly with distance driven and drifts
    /// with a ten-minute cycle, so readings change but repeat exactly.
    pub fn celsius(&self) -> f64 {
        let t = self.now.as_secs_f64();
        24.0 + 4.0 * (1.0 - (-self.driven_m / 200.0).exp()) + 0.5 * (std::f64::consts::TAU * t / 600.0).sin()
    }

    /// A 2S lithium pack: 6.6 V empty to 8.4 V full.
    pub fn voltage(&self) -> f64 {
        6.6 + 1.8 * self.battery
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::house;

    fn world() -> World {
        let params = Params {
            step: Duration::from_millis(5),
            track_width_m: 0.3,
            max_wheel_speed_mps: 0.6,
            odometry_noise: 0.0,
            battery_drain_per_m: 0.002,
        };
        World::new(house(), params, 7, 0.9)
    }

    #[test]
    fn noiseless_odometry_matches_truth() {
        let mut w = world();
        for _ in 0..400 {
            w.step(0.2, 0.3);
        }
        assert!(w.truth.pos.distance(w.odometry.pos) < 1e-9);
        assert!(w.battery < 0.9);
    }

    #[test]
    fn blocked_rover_stops_at_the_wall() {
        let mut w = world();
        w.truth.theta = std::f64::consts::PI; // West wall is 1.5 m away.
        for _ in 0..2000 {
            w.step(0.5, 0.5);
        }
        assert!(w.bumper);
        let gap = w.map.clearance(w.truth.pos);
        assert!((ROVER_RADIUS_M..ROVER_RADIUS_M + 0.001).contains(&gap), "gap {gap}");
    }
}
