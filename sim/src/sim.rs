//! The simulator handle, its clock, and stepping with the kill-switch
//! determinism barrier.
//!
//! [`Sim`] owns the shared state: the [`World`] behind a mutex, and, outside
//! it, the actuators' atomic command words and the kill-switch line, which
//! the safety path touches without ever taking the world lock. Time only
//! moves when someone calls [`SimClock::sleep`] (the executor's control
//! loop does, every period), which integrates whole physics steps; so the
//! simulation runs as fast as the CPU allows, or at a paced multiple of
//! real time for the interactive demo.
//!
//! A scheduled kill-switch press happens during stepping. Real actuators
//! react within microseconds, far inside one 5 ms step, but in the sim the
//! runtime's monitor thread needs wall time to notice. So after the world
//! pulls the line low, the stepping thread waits (bounded) until every
//! safe-stop it handed out reports safe before it integrates further: the
//! outcome of a run with an e-stop does not depend on thread scheduling.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use robot_hal::board::BoardFile;
use robot_hal::capability::{Clock, SafeStop};
use robot_hal::{Pose, Rgb};

use crate::devices::SimDevices;
use crate::error::SimError;
use crate::estop::Line;
use crate::map::house;
use crate::safe_stop::{DriveCommand, GripperCommand};
use crate::world::{Params, SimObject, State, World, ROVER_RADIUS_M};

/// Longest the stepping thread waits for the actuators to report safe
/// after the line went low, wall time.
pub const BARRIER_TIMEOUT: Duration = Duration::from_secs(2);
const BARRIER_POLL: Duration = Duration::from_micros(50);

/// A named point from the board, drawn on the SVG map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Landmark {
    pub name: String,
    pub x: f64,
    pub y: f64,
    /// A place (true) or a roadmap waypoint (false).
    pub place: bool,
}

#[derive(Debug, Clone, Copy)]
struct Pacing {
    factor: f64,
    wall0: Instant,
    sim0: Duration,
}

#[derive(Debug)]
pub(crate) struct Shared {
    world: Mutex<World>,
    pub(crate) drive: Arc<DriveCommand>,
    pub(crate) gripper: Arc<GripperCommand>,
    pub(crate) line: Arc<Line>,
    /// Whether `safe_stops` was called: only then is anyone listening.
    stops_handed_out: AtomicBool,
    /// Mirrors `battery == 0` so the drive can refuse without the lock.
    pub(crate) flat: AtomicBool,
    pacing: Mutex<Option<Pacing>>,
    pub(crate) step: Duration,
    pub(crate) landmarks: Vec<Landmark>,
}

impl Shared {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        // The world has no invariant a panicking reader could break halfway.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Let `d` of simulated time pass, integrating every whole step.
    fn advance(&self, d: Duration) {
        let target = self.world().now + d;
        loop {
            let mut w = self.world();
            if w.phys + self.step > target {
                w.now = w.now.max(target);
                break;
            }
            if w.estop_at.is_some_and(|at| w.phys >= at) {
                w.estop_at = None;
                drop(w);
                if self.line.set_high(false) {
                    self.barrier();
                }
                continue;
            }
            let (l, r) = self.drive.speeds();
            w.step(l, r);
            w.now = w.now.max(w.phys);
            self.flat.store(w.battery <= 0.0, Ordering::Release);
        }
        self.pace(target);
    }

    /// Wait until every handed-out safe-stop is latched, or give up.
    fn barrier(&self) {
        if !self.stops_handed_out.load(Ordering::Acquire) {
            return;
        }
        let deadline = Instant::now() + BARRIER_TIMEOUT;
        while !(self.drive.is_safe() && self.gripper.is_safe()) {
            if Instant::now() >= deadline {
                let mut w = self.world();
                let at = w.phys;
                w.faults.push(format!(
                    "kill-switch line low at {:.3} s but actuators not safe after {} s",
                    at.as_secs_f64(),
                    BARRIER_TIMEOUT.as_secs()
                ));
                return;
            }
            std::thread::sleep(BARRIER_POLL);
        }
    }

    fn pace(&self, sim_now: Duration) {
        let pacing = *self.pacing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pacing {
            let ahead = sim_now.saturating_sub(p.sim0).as_secs_f64() / p.factor;
            let due = p.wall0 + Duration::from_secs_f64(ahead);
            let wait = due.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
    }
}

/// The simulated time source; `sleep` steps the world.
#[derive(Debug, Clone)]
pub struct SimClock {
    shared: Arc<Shared>,
}

impl Clock for SimClock {
    fn now(&self) -> Duration {
        self.shared.world().now
    }

    fn sleep(&self, d: Duration) {
        self.shared.advance(d)
    }
}

/// The simulated rover in its house. Cheap to clone: every clone is a
/// handle on the same simulated world.
#[derive(Debug, Clone)]
pub struct Sim {
    shared: Arc<Shared>,
}

fn check(ok: bool, what: &str) -> Result<(), SimError> {
    if ok {
        Ok(())
    } else {
        Err(SimError::InvalidConfig(what.to_string()))
    }
}

impl Sim {
    /// Build the simulator from a board's `[sim]` and `[drive]` sections,
    /// with the board's seed.
    pub fn from_board(board: &BoardFile) -> Result<Sim, SimError> {
        let seed =
            board.sim.as_ref().map(|s| s.seed).ok_or_else(|| SimError::NotSimulated(board.board.name.clone()))?;
        Self::with_seed(board, seed)
    }

    /// Build the simulator with a seed other than the board's.
    pub fn with_seed(board: &BoardFile, seed: u64) -> Result<Sim, SimError> {
        let cfg = board.sim.as_ref().ok_or_else(|| SimError::NotSimulated(board.board.name.clone()))?;
        let drive = &board.drive;
        check(cfg.step_ms > 0, "[sim] step_ms must be at least 1")?;
        check(cfg.odometry_noise.is_finite() && cfg.odometry_noise >= 0.0, "[sim] odometry_noise must be >= 0")?;
        check(
            cfg.battery_drain_per_m.is_finite() && cfg.battery_drain_per_m >= 0.0,
            "[sim] battery_drain_per_m must be >= 0",
        )?;
        check((0.0..=1.0).contains(&cfg.initial_battery), "[sim] initial_battery must be within 0..1")?;
        check(drive.track_width_m.is_finite() && drive.track_width_m > 0.0, "[drive] track_width_m must be > 0")?;
        check(
            drive.max_wheel_speed_mps.is_finite() && drive.max_wheel_speed_mps > 0.0,
            "[drive] max_wheel_speed_mps must be > 0",
        )?;
        let params = Params {
            step: Duration::from_millis(cfg.step_ms),
            track_width_m: drive.track_width_m,
            max_wheel_speed_mps: drive.max_wheel_speed_mps,
            odometry_noise: cfg.odometry_noise,
            battery_drain_per_m: cfg.battery_drain_per_m,
        };
        let landmarks = board
            .places
            .iter()
            .map(|p| (p, true))
            .chain(board.waypoints.iter().map(|p| (p, false)))
            .map(|(p, place)| Landmark { name: p.name.clone(), x: p.x, y: p.y, place })
            .collect();
        let world = World::new(house(), params.clone(), seed, cfg.initial_battery);
        Ok(Sim {
            shared: Arc::new(Shared {
                world: Mutex::new(world),
                drive: Arc::new(DriveCommand::default()),
                gripper: Arc::new(GripperCommand::default()),
                line: Line::new(),
                stops_handed_out: AtomicBool::new(false),
                flat: AtomicBool::new(cfg.initial_battery <= 0.0),
                pacing: Mutex::new(None),
                step: params.step,
                landmarks,
            }),
        })
    }

    /// The simulated clock; give it to the executor.
    pub fn clock(&self) -> SimClock {
        SimClock { shared: self.shared.clone() }
    }

    /// Fresh handles on every device. They share the one world.
    pub fn devices(&self) -> SimDevices {
        SimDevices::new(&self.shared)
    }

    /// The drive's and gripper's kill-switch handles.
    pub fn safe_stops(&self) -> Vec<Arc<dyn SafeStop>> {
        self.shared.stops_handed_out.store(true, Ordering::Release);
        vec![self.shared.drive.clone(), self.shared.gripper.clone()]
    }

    /// Run at `factor` times real time (`Some(1.0)` for the interactive
    /// demo), or as fast as possible with `None`. A factor that is not a
    /// positive number means as fast as possible.
    pub fn set_pacing(&self, factor: Option<f64>) {
        let now = self.shared.world().now;
        let p = factor.filter(|f| f.is_finite() && *f > 0.0).map(|factor| Pacing {
            factor,
            wall0: Instant::now(),
            sim0: now,
        });
        *self.shared.pacing.lock().unwrap_or_else(|e| e.into_inner()) = p;
    }

    /// Press the kill-switch now (the line goes low).
    pub fn press_estop(&self) {
        self.shared.line.set_high(false);
    }

    /// Release the kill-switch (the line goes high; the runtime's latch
    /// stays engaged until an operator resets it).
    pub fn release_estop(&self) {
        self.shared.line.set_high(true);
    }

    /// Press the kill-switch when simulated time reaches `at`.
    pub fn schedule_estop(&self, at: Duration) {
        self.shared.world().estop_at = Some(at);
    }

    /// Wall-clock instant of the line's last high-to-low change.
    pub fn line_low_at(&self) -> Option<Instant> {
        self.shared.line.low_at()
    }

    /// Whether the kill-switch line is low (pressed).
    pub fn estop_pressed(&self) -> bool {
        !self.shared.line.is_high()
    }

    /// Simulated time.
    pub fn now(&self) -> Duration {
        self.shared.world().now
    }

    /// Where the rover really is.
    pub fn truth(&self) -> Pose {
        self.shared.world().truth.pose()
    }

    /// Where the rover's odometry thinks it is.
    pub fn odometry_pose(&self) -> Pose {
        self.shared.world().odometry.pose()
    }

    /// Put the rover at `pose`, resetting odometry to it too (as if it had
    /// been carried there and re-localised). For tests and scenarios.
    pub fn teleport(&self, pose: Pose) -> Result<(), SimError> {
        let mut w = self.shared.world();
        let s = State::from_pose(pose);
        if !(pose.x.is_finite() && pose.y.is_finite() && pose.heading_deg.is_finite())
            || w.map.collides(s.pos, ROVER_RADIUS_M)
        {
            return Err(SimError::InvalidConfig(format!("cannot place the rover at ({:.2}, {:.2})", pose.x, pose.y)));
        }
        w.truth = s;
        w.odometry = s;
        w.path.push(s.pose());
        Ok(())
    }

    /// The true trail, sampled every 50 ms of simulated time while moving.
    pub fn path(&self) -> Vec<Pose> {
        self.shared.world().path.clone()
    }

    /// Everything said, with the simulated time it was said at.
    pub fn speech(&self) -> Vec<(Duration, String)> {
        self.shared.world().speech.clone()
    }

    pub fn led(&self) -> Rgb {
        self.shared.world().led
    }

    /// Label of the object in the gripper.
    pub fn holding(&self) -> Option<String> {
        let w = self.shared.world();
        w.held.and_then(|i| w.objects.get(i)).map(|o| o.label.clone())
    }

    pub fn objects(&self) -> Vec<SimObject> {
        self.shared.world().objects.clone()
    }

    /// Battery charge, 0..1.
    pub fn battery(&self) -> f64 {
        self.shared.world().battery
    }

    /// Whether the rover has hit a wall at any time in this run.
    pub fn bumped(&self) -> bool {
        self.shared.world().bumps > 0
    }

    /// Number of separate wall contacts so far.
    pub fn bump_count(&self) -> u64 {
        self.shared.world().bumps
    }

    /// Whether the bumper is pressed against a wall right now.
    pub fn bumper_pressed(&self) -> bool {
        self.shared.world().bumper
    }

    /// Problems in the simulation itself (e.g. actuators that never
    /// reported safe after the line went low).
    pub fn faults(&self) -> Vec<String> {
        self.shared.world().faults.clone()
    }

    /// A map of the house with places, objects and the rover's trail.
    pub fn render_svg(&self) -> String {
        crate::svg::render(&self.shared.world(), &self.shared.landmarks)
    }
}
