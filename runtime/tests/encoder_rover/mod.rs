//! A rover simulated at the pins, for the GPIO-board tests: the executor
//! drives a real [`GpioDrive`] whose PWM and direction lines are atomics;
//! the test clock's `sleep` moves the wheels by what those lines command
//! and feeds the resulting quadrature edges to the real [`Encoders`],
//! exactly as the edge threads would on a board. The right motor is a
//! little weaker than the left, so only a closed loop drives straight.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use robot_hal::board::BoardFile;
use robot_hal::capability::erased::{DynOdometry, Erased};
use robot_hal::capability::{Clock, SafeStop};
use robot_hal::gpio::setup::EncoderSetup;
use robot_hal::gpio::{
    Channel, DigitalOut, Encoders, GpioDrive, GpioError, GpioSafeStop, Motor, MotorLatch, PwmOut, PwmStop, Wheel,
    WheelGeometry, WheelOdometry,
};
use robot_runtime::devices::Devices;

/// A digital line whose level the rover reads.
struct Line(Arc<AtomicBool>);
impl DigitalOut for Line {
    fn set(&mut self, high: bool) -> Result<(), GpioError> {
        self.0.store(high, Ordering::SeqCst);
        Ok(())
    }
}

/// A PWM output whose duty the rover reads (and the safe stop can zero).
struct Pwm(Arc<AtomicU64>);
impl PwmOut for Pwm {
    fn set_duty(&mut self, d: f64) -> Result<(), GpioError> {
        self.0.store(d.to_bits(), Ordering::SeqCst);
        Ok(())
    }
}
impl PwmStop for Pwm {
    fn zero(&self) -> Result<(), GpioError> {
        self.0.store(0f64.to_bits(), Ordering::SeqCst);
        Ok(())
    }
}

/// One wheel's lines and where it is, in encoder counts.
struct WheelSim {
    wheel: Wheel,
    duty: Arc<AtomicU64>,
    in1: Arc<AtomicBool>,
    in2: Arc<AtomicBool>,
    reversed: bool,
    /// Fraction of the commanded speed the motor really reaches.
    strength: f64,
    position: f64,
    emitted: i64,
}

/// The AB levels `n` quadrature steps forward from 00.
fn ab(n: i64) -> (bool, bool) {
    match n.rem_euclid(4) {
        0 => (false, false),
        1 => (true, false),
        2 => (true, true),
        _ => (false, true),
    }
}

impl WheelSim {
    fn speed(&self, enabled: bool, max_mps: f64) -> f64 {
        let (in1, in2) = (self.in1.load(Ordering::SeqCst), self.in2.load(Ordering::SeqCst));
        if !enabled || in1 == in2 {
            return 0.0;
        }
        let forward = in1 != self.reversed;
        let duty = f64::from_bits(self.duty.load(Ordering::SeqCst));
        duty * max_mps * self.strength * if forward { 1.0 } else { -1.0 }
    }

    /// Roll `counts` (fractional) and emit the edges of each whole step.
    fn roll(&mut self, counts: f64, encoders: &Encoders) {
        self.position += counts;
        let target = self.position.floor() as i64;
        while self.emitted != target {
            let next = self.emitted + if target > self.emitted { 1 } else { -1 };
            let ((a0, b0), (a1, b1)) = (ab(self.emitted), ab(next));
            if a0 != a1 {
                encoders.edge(self.wheel, Channel::A, a1);
            }
            if b0 != b1 {
                encoders.edge(self.wheel, Channel::B, b1);
            }
            self.emitted = next;
        }
    }
}

struct World {
    now: Duration,
    wheels: [WheelSim; 2],
}

/// The test clock: sleeping moves the rover.
pub struct RoverClock {
    world: Mutex<World>,
    enable: Arc<AtomicBool>,
    encoders: Arc<Encoders>,
    geometry: WheelGeometry,
    max_mps: f64,
}

impl Clock for RoverClock {
    fn now(&self) -> Duration {
        self.world.lock().expect("world lock").now
    }

    fn sleep(&self, d: Duration) {
        let mut w = self.world.lock().expect("world lock");
        let step = Duration::from_millis(1);
        let mut left = d;
        while !left.is_zero() {
            let dt = step.min(left);
            let enabled = self.enable.load(Ordering::SeqCst);
            for wheel in &mut w.wheels {
                let v = wheel.speed(enabled, self.max_mps);
                wheel.roll(self.geometry.counts_for(v * dt.as_secs_f64()), &self.encoders);
            }
            w.now += dt;
            left -= dt;
        }
    }
}

/// What a test needs to build an executor over the simulated rover.
pub struct Rover {
    pub devices: Devices,
    pub clock: Arc<RoverClock>,
    pub safe_stop: Arc<dyn SafeStop>,
    pub encoders: Arc<Encoders>,
    pub geometry: WheelGeometry,
}

/// The rover of `board` (its `[gpio.encoders]` and `[drive]`), with or
/// without its odometry.
pub fn rover(board: &BoardFile, with_odometry: bool) -> Rover {
    let setup = EncoderSetup::from_board(board, true).expect("the board has encoders");
    let gpio = board.gpio.as_ref().expect("a [gpio] section");
    let enable = Arc::new(AtomicBool::new(false));
    let latch = Arc::new(MotorLatch::new(Box::new(Line(enable.clone())) as Box<dyn DigitalOut>));
    let mut sims = Vec::new();
    let mut stops: Vec<Arc<dyn PwmStop>> = Vec::new();
    let mut motor = |wheel, reversed, strength| {
        let (duty, in1, in2) =
            (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        stops.push(Arc::new(Pwm(duty.clone())));
        sims.push(WheelSim {
            wheel,
            duty: duty.clone(),
            in1: in1.clone(),
            in2: in2.clone(),
            reversed,
            strength,
            position: 0.5, // mid-step, so rounding never hides or invents an edge
            emitted: 0,
        });
        Motor { pwm: Box::new(Pwm(duty)), in1: Box::new(Line(in1)), in2: Box::new(Line(in2)), reversed }
    };
    let left = motor(Wheel::Left, gpio.left_motor.reversed, 1.0);
    let right = motor(Wheel::Right, gpio.right_motor.reversed, 0.97);
    let drive = GpioDrive {
        left,
        right,
        latch: latch.clone(),
        track_width_m: board.drive.track_width_m,
        max_wheel_speed_mps: board.drive.max_wheel_speed_mps,
        encoders: Some(setup.encoders.clone()),
    };
    let safe_stop: Arc<dyn SafeStop> = Arc::new(GpioSafeStop { name: "motors".into(), latch, pwms: stops });
    safe_stop.rearm();
    let wheels: [WheelSim; 2] = sims.try_into().unwrap_or_else(|_| unreachable!("two motors"));
    let clock = Arc::new(RoverClock {
        world: Mutex::new(World { now: Duration::ZERO, wheels }),
        enable,
        encoders: setup.encoders.clone(),
        geometry: setup.geometry,
        max_mps: board.drive.max_wheel_speed_mps,
    });
    let odometry = with_odometry.then(|| {
        Box::new(Erased(WheelOdometry::new(setup.encoders.clone(), setup.geometry, None, None))) as DynOdometry
    });
    Rover {
        devices: Devices { drive: Some(Box::new(Erased(drive))), odometry, ..Devices::default() },
        clock,
        safe_stop,
        encoders: setup.encoders,
        geometry: setup.geometry,
    }
}
