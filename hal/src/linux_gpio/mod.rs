//! The `linux-gpio` backend: the rover's devices on any Linux board (a
//! Jetson, a Pi running a kernel rppal does not know) through the GPIO
//! character device (`gpiocdev`, uAPI v1 and v2) and sysfs PWM.
//!
//! [`LinuxGpio::open`] opens `gpio.chip` first and fails with a clear
//! [`GpioError::Open`] naming the device when it cannot (missing, or no
//! permission: the user must be in the `gpio` group), and reports a line
//! the chip does not have before requesting it. The kill-switch is an
//! input with pull-up bias and edge detection on both edges (the level read
//! after a wake-up is what counts; on a Jetson the pinmux may ignore the
//! bias, so fit an external pull-up). Each PWM output is a sysfs channel
//! (`pwm_chip`, `channel`), exported if needed ([`sysfs_pwm`]). The
//! devices' behaviour is in [`crate::gpio::devices`], shared with `rpi`.
//!
//! Wheel-encoder lines are requested together, inputs with pull-up bias and
//! edge detection on both edges, so the kernel queues their events in one
//! ordered stream (this needs GPIO uAPI v2, Linux 5.10 or later, as on
//! JetPack 5 and 6) and every edge of A and B is decoded (×4). An
//! [`EdgeWorker`] thread reads the stream. The I2C sensors are on
//! `/dev/i2c-<gpio.i2c_bus>` through `linux-embedded-hal`.

pub mod sysfs_pwm;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gpiocdev::line::{Bias, EdgeDetection, EdgeKind, Value};
use gpiocdev::{Chip, Request};

use crate::board::{BoardFile, MotorPins, PwmOutput};
use crate::capability::{InputPin, WaitForEdge};
use crate::gpio::motor::SERVO_PERIOD_US;
use crate::gpio::sensors::{open_i2c_sensors, I2cSensors, StdDelay};
use crate::gpio::setup::{EncoderSetup, GpioSensors};
use crate::gpio::{
    Channel, DigitalOut, EdgeSource, EdgeWorker, GpioDrive, GpioError, GpioGripper, GpioLed, GpioSafeStop, Motor,
    MotorLatch, PwmStop, Wheel,
};
use crate::{ErrorType, GripperPosition};
use sysfs_pwm::SysfsPwm;

/// Name the lines are requested under, shown by `gpioinfo`.
const CONSUMER: &str = "robot";

/// The devices of a `linux-gpio` board, opened.
pub struct LinuxGpio {
    pub drive: GpioDrive,
    pub gripper: Option<GpioGripper>,
    pub led: Option<GpioLed>,
    pub safe_stop: Arc<GpioSafeStop>,
    pub kill_switch: CdevKillSwitch,
    /// Odometry (with encoders), battery, range sensor, thermometer.
    pub sensors: GpioSensors,
}

impl LinuxGpio {
    pub fn open(board: &BoardFile) -> Result<LinuxGpio, GpioError> {
        let g = board.gpio.as_ref().ok_or_else(|| GpioError::Config("backend \"linux-gpio\" needs [gpio]".into()))?;
        let chip_path = g.chip.as_deref().ok_or_else(|| GpioError::Config("gpio.chip is missing".into()))?;
        let chip = Chip::from_path(chip_path).map_err(|e| GpioError::open(format!("GPIO chip {chip_path}"), e))?;
        let lines = chip.info().map_err(|e| GpioError::open(format!("GPIO chip {chip_path}"), e))?.num_lines;
        let check = |n: u32, what: &str| {
            if n < lines {
                Ok(n)
            } else {
                Err(GpioError::Config(format!(
                    "{what}: {chip_path} has lines 0 to {}, not {n}",
                    lines.saturating_sub(1)
                )))
            }
        };
        let line = |n: u32, what: &str| -> Result<Box<dyn DigitalOut>, GpioError> {
            let n = check(n, what)?;
            let req = Request::builder()
                .on_chip(chip_path)
                .with_consumer(CONSUMER)
                .with_line(n)
                .as_output(Value::Inactive)
                .request()
                .map_err(|e| GpioError::open(format!("{what} (line {n} of {chip_path})"), e))?;
            Ok(Box::new(CdevLine { req, offset: n }))
        };
        let pwm = |out: &PwmOutput, hz: f64, what: &str| -> Result<Arc<SysfsPwm>, GpioError> {
            let (Some(dir), Some(ch)) = (&out.pwm_chip, out.channel) else {
                return Err(GpioError::Config(format!("{what}: linux-gpio needs pwm_chip and channel")));
            };
            SysfsPwm::open(Path::new(dir), ch, hz).map(Arc::new)
        };

        let kill_pin = g.kill_switch_pin.ok_or_else(|| GpioError::Config("gpio.kill_switch_pin is missing".into()))?;
        let kill_pin = check(kill_pin, "kill-switch")?;
        let kill = Request::builder()
            .on_chip(chip_path)
            .with_consumer(CONSUMER)
            .with_line(kill_pin)
            .as_input()
            .with_bias(Bias::PullUp)
            .with_edge_detection(EdgeDetection::BothEdges)
            .request()
            .map_err(|e| GpioError::open(format!("kill-switch (line {kill_pin} of {chip_path})"), e))?;
        let mut kill = CdevKillSwitch { req: kill, offset: kill_pin };
        let enable_pin =
            g.motor_enable_pin.ok_or_else(|| GpioError::Config("gpio.motor_enable_pin is missing".into()))?;
        let latch = Arc::new(MotorLatch::new(line(enable_pin, "motor enable")?));

        // Counting starts before the drive can move a wheel.
        let encoders = match EncoderSetup::from_board(board, true) {
            Some(setup) => {
                let offsets = setup.lines.lines().map(|n| check(n, "wheel encoder")).collect::<Result<Vec<_>, _>>()?;
                let req = Request::builder()
                    .on_chip(chip_path)
                    .with_consumer(CONSUMER)
                    .with_lines(&offsets)
                    .as_input()
                    .with_bias(Bias::PullUp)
                    .with_edge_detection(EdgeDetection::BothEdges)
                    .request()
                    .map_err(|e| GpioError::open(format!("wheel encoder lines {offsets:?} of {chip_path}"), e))?;
                // The levels now, so the first edge decodes against the real state.
                let mut levels = [[false; 2]; 2];
                for &n in &offsets {
                    let high = req.value(n).map_err(|e| GpioError::io(format!("wheel encoder line {n}"), e))?;
                    if let Some((wheel, channel)) = setup.lines.get(n) {
                        levels[wheel as usize][usize::from(channel == Channel::B)] = high == Value::Active;
                    }
                }
                for (wheel, [a, b]) in [Wheel::Left, Wheel::Right].into_iter().zip(levels) {
                    setup.encoders.seed(wheel, a, b);
                }
                let worker = EdgeWorker::spawn(EncoderEvents(req), setup.lines.clone(), setup.encoders.clone())?;
                Some((setup, Some(Box::new(worker) as Box<dyn Send>)))
            }
            None => None,
        };
        let counters = encoders.as_ref().map(|(s, _)| s.encoders.clone());

        let mut stops: Vec<Arc<dyn PwmStop>> = Vec::new();
        let mut motor = |m: &MotorPins, side: &str| -> Result<Motor, GpioError> {
            let p = pwm(&m.pwm, m.frequency_hz, &format!("{side} motor PWM"))?;
            stops.push(p.clone());
            Ok(Motor {
                pwm: Box::new(p),
                in1: line(m.in1, &format!("{side} motor in1"))?,
                in2: line(m.in2, &format!("{side} motor in2"))?,
                reversed: m.reversed,
            })
        };
        let left = motor(&g.left_motor, "left")?;
        let right = motor(&g.right_motor, "right")?;
        let drive = GpioDrive {
            left,
            right,
            latch: latch.clone(),
            track_width_m: board.drive.track_width_m,
            max_wheel_speed_mps: board.drive.max_wheel_speed_mps,
            encoders: counters,
        };
        let gripper = match &g.gripper_servo_pwm {
            Some(out) => Some(GpioGripper {
                servo: Box::new(pwm(out, 1e6 / f64::from(SERVO_PERIOD_US), "gripper servo")?),
                open_us: g.gripper_open_us,
                closed_us: g.gripper_closed_us,
                latch: latch.clone(),
                position: GripperPosition::Open,
            }),
            None => None,
        };
        let led = match g.led_pins {
            Some([r, gr, b]) => {
                Some(GpioLed { lines: [line(r, "LED red")?, line(gr, "LED green")?, line(b, "LED blue")?] })
            }
            None => None,
        };
        if kill.is_high()? == board.kill_switch.active_low {
            latch.rearm(|p| p.set(true))?;
        }
        let safe_stop = Arc::new(GpioSafeStop { name: "motors".into(), latch, pwms: stops });
        let i2c = match g.i2c_bus {
            Some(bus) if g.battery_monitor_addr.is_some() || g.range_sensor_addr.is_some() || g.imu_addr.is_some() => {
                let path = format!("/dev/i2c-{bus}");
                let i2c = linux_embedded_hal::I2cdev::new(&path)
                    .map_err(|e| GpioError::open(format!("I2C bus {path}"), e))?;
                open_i2c_sensors(g, i2c, &mut StdDelay)?
            }
            _ => I2cSensors::default(),
        };
        let sensors = GpioSensors::assemble(board, encoders, i2c);
        Ok(LinuxGpio { drive, gripper, led, safe_stop, kill_switch: kill, sensors })
    }
}

/// The encoder lines' edge events, in the kernel's order.
struct EncoderEvents(Request);

impl EdgeSource for EncoderEvents {
    fn wait(&mut self, timeout: Duration, out: &mut Vec<(u32, bool)>) -> Result<(), GpioError> {
        let io = |e: gpiocdev::Error| GpioError::io("wheel encoder edge events", e);
        if self.0.wait_edge_event(timeout).map_err(io)? {
            while self.0.has_edge_event().map_err(io)? {
                let ev = self.0.read_edge_event().map_err(io)?;
                out.push((ev.offset, ev.kind == EdgeKind::Rising));
            }
        }
        Ok(())
    }
}

struct CdevLine {
    req: Request,
    offset: u32,
}

impl DigitalOut for CdevLine {
    fn set(&mut self, high: bool) -> Result<(), GpioError> {
        let v = if high { Value::Active } else { Value::Inactive };
        self.req.set_value(self.offset, v).map_err(|e| GpioError::io(format!("GPIO line {}", self.offset), e))
    }
}

/// The kill-switch input on the character device.
pub struct CdevKillSwitch {
    req: Request,
    offset: u32,
}

impl ErrorType for CdevKillSwitch {
    type Error = GpioError;
}

impl InputPin for CdevKillSwitch {
    fn is_high(&mut self) -> Result<bool, GpioError> {
        let v = self.req.value(self.offset).map_err(|e| GpioError::io("kill-switch line", e))?;
        Ok(v == Value::Active)
    }
}

impl WaitForEdge for CdevKillSwitch {
    fn wait_for_edge(&mut self, timeout: Duration) -> Result<bool, GpioError> {
        let io = |e: gpiocdev::Error| GpioError::io("kill-switch edge events", e);
        let seen = self.req.wait_edge_event(timeout).map_err(io)?;
        // Drain what queued: only the level read afterwards matters.
        while self.req.has_edge_event().map_err(io)? {
            self.req.read_edge_event().map_err(io)?;
        }
        Ok(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_chip_is_a_clear_open_error() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/jetson-orin-nano-rover.toml");
        let mut board = BoardFile::load(path).expect("the Jetson board is valid");
        let missing = "/dev/gpiochip-does-not-exist";
        if let Some(g) = board.gpio.as_mut() {
            g.chip = Some(missing.into());
        }
        match LinuxGpio::open(&board) {
            Err(GpioError::Open { what, .. }) => assert_eq!(what, format!("GPIO chip {missing}")),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("opened a chip that does not exist"),
        }
    }
}
