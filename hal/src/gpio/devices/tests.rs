//! The GPIO devices on fake lines: what reaches the pins for a speed, the
//! latch refusing motion, and the safe stop acting while the drive is busy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::Error as _;
use crate::ErrorKind;

#[derive(Clone, Default)]
struct Probe(Arc<Mutex<Vec<(String, f64)>>>);

impl Probe {
    fn log(&self) -> Vec<(String, f64)> {
        self.0.lock().unwrap().clone()
    }
    fn last(&self, name: &str) -> Option<f64> {
        self.log().iter().rev().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

struct Line(&'static str, Probe);
impl DigitalOut for Line {
    fn set(&mut self, high: bool) -> Result<(), GpioError> {
        self.1 .0.lock().unwrap().push((self.0.into(), f64::from(u8::from(high))));
        Ok(())
    }
}

/// A hardware-like PWM: the duty is an atomic, so the stop can zero it via a shared handle.
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
fn duty(a: &AtomicU64) -> f64 {
    f64::from_bits(a.load(Ordering::SeqCst))
}

struct Rig {
    drive: GpioDrive,
    stop: GpioSafeStop,
    probe: Probe,
    left: Arc<AtomicU64>,
    right: Arc<AtomicU64>,
}

fn rig() -> Rig {
    let probe = Probe::default();
    let (left, right) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let latch = Arc::new(MotorLatch::new(Box::new(Line("enable", probe.clone())) as Box<dyn DigitalOut>));
    let motor = |pwm: &Arc<AtomicU64>, a, b, reversed| Motor {
        pwm: Box::new(Pwm(pwm.clone())),
        in1: Box::new(Line(a, probe.clone())),
        in2: Box::new(Line(b, probe.clone())),
        reversed,
    };
    let drive = GpioDrive {
        left: motor(&left, "ain1", "ain2", false),
        right: motor(&right, "bin1", "bin2", true),
        latch: latch.clone(),
        track_width_m: 0.16,
        max_wheel_speed_mps: 0.5,
        encoders: None,
    };
    let pwms: Vec<Arc<dyn PwmStop>> = vec![Arc::new(Pwm(left.clone())), Arc::new(Pwm(right.clone()))];
    let stop = GpioSafeStop { name: "motors".into(), latch, pwms };
    Rig { drive, stop, probe, left, right }
}

#[test]
fn starts_latched_until_rearmed() {
    let mut r = rig();
    assert!(r.stop.is_safe());
    let e = r.drive.set_wheel_speeds(0.1, 0.1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Refused);
    r.stop.rearm();
    assert_eq!(r.probe.last("enable"), Some(1.0));
    r.drive.set_wheel_speeds(0.25, 0.25).unwrap();
    assert_eq!((duty(&r.left), duty(&r.right)), (0.5, 0.5));
    // The right motor is mounted mirrored.
    assert_eq!((r.probe.last("ain1"), r.probe.last("ain2")), (Some(1.0), Some(0.0)));
    assert_eq!((r.probe.last("bin1"), r.probe.last("bin2")), (Some(0.0), Some(1.0)));
}

#[test]
fn too_fast_is_refused_not_clamped() {
    let mut r = rig();
    r.stop.rearm();
    let e = r.drive.set_wheel_speeds(0.6, 0.0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfRange);
    assert_eq!(duty(&r.left), 0.0);
}

#[test]
fn safe_stop_drops_enable_and_duty_and_latches() {
    let mut r = rig();
    r.stop.rearm();
    r.drive.set_wheel_speeds(0.5, -0.5).unwrap();
    r.stop.force_safe().unwrap();
    assert_eq!(r.probe.last("enable"), Some(0.0));
    assert_eq!((duty(&r.left), duty(&r.right)), (0.0, 0.0));
    assert_eq!(r.drive.set_wheel_speeds(0.1, 0.1).unwrap_err().kind(), ErrorKind::Refused);
    // Stopping stays allowed while latched.
    r.drive.stop().unwrap();
    r.drive.set_wheel_speeds(0.0, 0.0).unwrap();
}

#[test]
fn safe_stop_does_not_wait_for_a_busy_drive() {
    let r = rig();
    r.stop.rearm();
    let drive = Arc::new(Mutex::new(r.drive));
    // The executor holds the drive; the stop must still go through.
    let held = drive.lock().unwrap();
    let stop = Arc::new(r.stop);
    let s = stop.clone();
    let t = std::thread::spawn(move || s.force_safe());
    t.join().unwrap().unwrap();
    assert!(stop.is_safe());
    drop(held);
}

#[test]
fn gripper_refuses_while_latched_and_led_thresholds() {
    let probe = Probe::default();
    let latch = Arc::new(MotorLatch::new(Box::new(Line("enable", probe.clone())) as Box<dyn DigitalOut>));
    let servo = Arc::new(AtomicU64::new(0));
    let mut g = GpioGripper {
        servo: Box::new(Pwm(servo.clone())),
        open_us: 1000,
        closed_us: 2000,
        latch: latch.clone(),
        position: GripperPosition::Open,
    };
    assert_eq!(g.close().unwrap_err().kind(), ErrorKind::Refused);
    latch.rearm::<GpioError>(|p| p.set(true)).unwrap();
    g.close().unwrap();
    assert!((duty(&servo) - 0.1).abs() < 1e-12);
    assert_eq!(g.state().unwrap(), GripperState { position: GripperPosition::Closed, holding: false });

    let mut led = GpioLed {
        lines: [
            Box::new(Line("r", probe.clone())),
            Box::new(Line("g", probe.clone())),
            Box::new(Line("b", probe.clone())),
        ],
    };
    led.set_color(Rgb { r: 255, g: 127, b: 128 }).unwrap();
    assert_eq!((probe.last("r"), probe.last("g"), probe.last("b")), (Some(1.0), Some(0.0), Some(1.0)));
}
