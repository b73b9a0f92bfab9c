//! The `raspberry-pi` backend: the rover's devices on a Raspberry Pi 4 or 5
//! GPIO header through `rppal` (on the Pi 5 the header belongs to the RP1
//! chip, which rppal drives with the same BCM numbers).
//!
//! [`Rpi::open`] first asks rppal which Pi this is; anywhere else it fails
//! with [`GpioError::NotARaspberryPi`] before touching any device. It then
//! opens the `[gpio]` pins of the board file: the kill-switch as an input
//! with the pull-up and interrupts on both edges (the level read after a
//! wake-up is what counts), the motor-enable output (low until the
//! kill-switch reads released), the motor driver's PWM and direction
//! pins, the gripper servo and the LED. The behaviour of those devices is
//! in [`crate::gpio::devices`], shared with `linux-gpio`.
//!
//! A PWM output on BCM 12, 13, 18 or 19 uses hardware PWM (channel per
//! [`crate::gpio::pins`]); elsewhere rppal's software PWM.
//!
//! Wheel encoders count on rppal's asynchronous interrupts (one rppal
//! thread per A line; B, when wired, is read at each A edge, since events
//! of two pins on two threads could be reordered). rppal's synchronous
//! polling is not used: it holds one process-wide lock while it waits,
//! which would make the kill-switch monitor wait for the encoders. The I2C
//! sensors are on rppal's I2C bus (`gpio.i2c_bus`), see
//! [`crate::gpio::sensors`]; the board's sensors end up in [`Rpi::sensors`].

use std::sync::Arc;
use std::time::Duration;

use rppal::gpio::{Gpio, Trigger};
use rppal::pwm::{Channel, Polarity, Pwm};
use rppal::system::{DeviceInfo, Model};

use crate::board::{BoardFile, EncoderPins, MotorPins, PwmOutput};
use crate::capability::{InputPin, WaitForEdge};
use crate::gpio::motor::SERVO_PERIOD_US;
use crate::gpio::pins::rpi_hw_pwm_channel;
use crate::gpio::sensors::{open_i2c_sensors, I2cSensors, StdDelay};
use crate::gpio::setup::{EncoderSetup, GpioSensors};
use crate::gpio::{
    Channel as EncoderChannel, DigitalOut, Encoders, GpioDrive, GpioError, GpioGripper, GpioLed, GpioSafeStop, Motor,
    MotorLatch, PwmOut, PwmStop, Wheel,
};
use crate::{ErrorType, GripperPosition};

/// The devices of a Raspberry Pi board, opened.
pub struct Rpi {
    /// The model rppal identified, e.g. `Raspberry Pi 5`.
    pub model: String,
    pub drive: GpioDrive,
    pub gripper: Option<GpioGripper>,
    pub led: Option<GpioLed>,
    pub safe_stop: Arc<GpioSafeStop>,
    pub kill_switch: RpiKillSwitch,
    /// Odometry (with encoders), battery, range sensor, thermometer.
    pub sensors: GpioSensors,
}

/// Which Pi this is, or why this machine is not one.
pub fn detect() -> Result<Model, GpioError> {
    DeviceInfo::new().map(|i| i.model()).map_err(|e| {
        GpioError::NotARaspberryPi(format!(
            "{e} (rppal looked in /proc/cpuinfo and /sys/firmware/devicetree/base); \
             for another Linux board use backend \"linux-gpio\""
        ))
    })
}

impl Rpi {
    /// Open the board's `[gpio]` pins. Fails with
    /// [`GpioError::NotARaspberryPi`] on any other machine.
    pub fn open(board: &BoardFile) -> Result<Rpi, GpioError> {
        let model = detect()?;
        let g = board.gpio.as_ref().ok_or_else(|| GpioError::Config("backend \"raspberry-pi\" needs [gpio]".into()))?;
        let pi5 = model == Model::RaspberryPi5;
        let gpio = Gpio::new().map_err(|e| GpioError::open("the Raspberry Pi GPIO (/dev/gpiomem)", e))?;
        let pin = |n: u32, what: &str| {
            u8::try_from(n)
                .map_err(|_| GpioError::Config(format!("{what}: pin {n} does not exist")))
                .and_then(|n| gpio.get(n).map_err(|e| GpioError::open(format!("{what} (BCM {n})"), e)))
        };
        let line = |n: u32, what: &str| -> Result<Box<dyn DigitalOut>, GpioError> {
            Ok(Box::new(Line(pin(n, what)?.into_output_low())))
        };
        let pwm = |out: &PwmOutput, hz: f64, what: &str, stops: &mut Vec<Arc<dyn PwmStop>>| {
            let b: Box<dyn PwmOut> = match rpi_hw_pwm_channel(out.pin, pi5) {
                Some(ch) => {
                    let channel = Channel::try_from(ch).map_err(|e| GpioError::open(what, e))?;
                    let hw = Pwm::with_frequency(channel, hz, 0.0, Polarity::Normal, true).map_err(|e| {
                        GpioError::open(format!("{what} (hardware PWM channel {ch}, BCM {})", out.pin), e)
                    })?;
                    let hw = Arc::new(HwPwm(hw));
                    stops.push(hw.clone());
                    Box::new(hw)
                }
                None => Box::new(SoftPwm { pin: pin(out.pin, what)?.into_output_low(), hz }),
            };
            Ok::<_, GpioError>(b)
        };

        let kill_pin = g.kill_switch_pin.ok_or_else(|| GpioError::Config("gpio.kill_switch_pin is missing".into()))?;
        let mut kill = pin(kill_pin, "kill-switch")?.into_input_pullup();
        kill.set_interrupt(Trigger::Both, None).map_err(|e| GpioError::open("kill-switch interrupt", e))?;
        let enable_pin =
            g.motor_enable_pin.ok_or_else(|| GpioError::Config("gpio.motor_enable_pin is missing".into()))?;
        let latch = Arc::new(MotorLatch::new(line(enable_pin, "motor enable")?));

        // Counting starts before the drive can move a wheel.
        let encoders = match EncoderSetup::from_board(board, false) {
            Some(setup) => {
                let e = board
                    .gpio
                    .as_ref()
                    .and_then(|g| g.encoders.as_ref())
                    .ok_or_else(|| GpioError::Config("gpio.encoders vanished while opening".into()))?;
                let mut feed = Vec::new();
                for (wheel, pins, side) in [(Wheel::Left, &e.left, "left"), (Wheel::Right, &e.right, "right")] {
                    feed.push(encoder_interrupt(&pin, &setup.encoders, wheel, pins, side)?);
                }
                Some((setup, Some(Box::new(feed) as Box<dyn Send>)))
            }
            None => None,
        };
        let counters = encoders.as_ref().map(|(s, _)| s.encoders.clone());

        let mut stops = Vec::new();
        let mut motor = |m: &MotorPins, side: &str| -> Result<Motor, GpioError> {
            Ok(Motor {
                pwm: pwm(&m.pwm, m.frequency_hz, &format!("{side} motor PWM"), &mut stops)?,
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
        // The servo holds its position through a stop, so it is not in `stops`.
        let mut servo_stops = Vec::new();
        let gripper = match &g.gripper_servo_pwm {
            Some(out) => Some(GpioGripper {
                servo: pwm(out, 1e6 / f64::from(SERVO_PERIOD_US), "gripper servo", &mut servo_stops)?,
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
        // Enable the motors only if the kill-switch reads released now;
        // otherwise they stay latched until the operator resets.
        if kill.is_high() == board.kill_switch.active_low {
            latch.rearm(|p| p.set(true))?;
        }
        let safe_stop = Arc::new(GpioSafeStop { name: "motors".into(), latch, pwms: stops });
        let i2c = match g.i2c_bus {
            Some(bus) if g.battery_monitor_addr.is_some() || g.range_sensor_addr.is_some() || g.imu_addr.is_some() => {
                let i2c = rppal::i2c::I2c::with_bus(bus)
                    .map_err(|e| GpioError::open(format!("I2C bus {bus} (/dev/i2c-{bus})"), e))?;
                open_i2c_sensors(g, i2c, &mut StdDelay)?
            }
            _ => I2cSensors::default(),
        };
        let sensors = GpioSensors::assemble(board, encoders, i2c);
        Ok(Rpi {
            model: model.to_string(),
            drive,
            gripper,
            led,
            safe_stop,
            kill_switch: RpiKillSwitch { pin: kill },
            sensors,
        })
    }
}

/// One wheel's encoder: an interrupt on A's edges whose callback counts
/// into `encoders`, reading B (when wired) at each edge. The returned pin
/// must be kept: dropping it ends the interrupt.
fn encoder_interrupt(
    pin: &impl Fn(u32, &str) -> Result<rppal::gpio::Pin, GpioError>,
    encoders: &Arc<Encoders>,
    wheel: Wheel,
    pins: &EncoderPins,
    side: &str,
) -> Result<rppal::gpio::InputPin, GpioError> {
    let mut a = pin(pins.a, &format!("{side} encoder A"))?.into_input_pullup();
    let b = match pins.b {
        Some(n) => Some(pin(n, &format!("{side} encoder B"))?.into_input_pullup()),
        None => None,
    };
    encoders.seed(wheel, a.is_high(), b.as_ref().is_some_and(|b| b.is_high()));
    let counts = encoders.clone();
    a.set_async_interrupt(Trigger::Both, None, move |event| {
        let level = event.trigger == Trigger::RisingEdge;
        match &b {
            Some(b) => counts.a_edge_with_b(wheel, level, b.is_high()),
            None => counts.edge(wheel, EncoderChannel::A, level),
        }
    })
    .map_err(|e| GpioError::open(format!("{side} encoder A interrupt (BCM {})", pins.a), e))?;
    Ok(a)
}

struct Line(rppal::gpio::OutputPin);

impl DigitalOut for Line {
    fn set(&mut self, high: bool) -> Result<(), GpioError> {
        if high {
            self.0.set_high()
        } else {
            self.0.set_low()
        }
        Ok(())
    }
}

/// Hardware PWM: rppal writes sysfs through `&self`, so the safe stop can
/// zero it while the drive owns it.
struct HwPwm(Pwm);

impl PwmStop for HwPwm {
    fn zero(&self) -> Result<(), GpioError> {
        self.0.set_duty_cycle(0.0).map_err(|e| GpioError::io("hardware PWM", e))
    }
}

impl PwmOut for Arc<HwPwm> {
    fn set_duty(&mut self, duty: f64) -> Result<(), GpioError> {
        self.0.set_duty_cycle(duty).map_err(|e| GpioError::io("hardware PWM", e))
    }
}

/// rppal's software PWM on an ordinary output (a thread toggles the pin).
struct SoftPwm {
    pin: rppal::gpio::OutputPin,
    hz: f64,
}

impl PwmOut for SoftPwm {
    fn set_duty(&mut self, duty: f64) -> Result<(), GpioError> {
        self.pin.set_pwm_frequency(self.hz, duty).map_err(|e| GpioError::io("software PWM", e))
    }
}

/// The kill-switch input: pull-up, interrupts on both edges.
pub struct RpiKillSwitch {
    pin: rppal::gpio::InputPin,
}

impl ErrorType for RpiKillSwitch {
    type Error = GpioError;
}

impl InputPin for RpiKillSwitch {
    fn is_high(&mut self) -> Result<bool, GpioError> {
        Ok(self.pin.is_high())
    }
}

impl WaitForEdge for RpiKillSwitch {
    fn wait_for_edge(&mut self, timeout: Duration) -> Result<bool, GpioError> {
        self.pin
            .poll_interrupt(true, Some(timeout))
            .map(|event| event.is_some())
            .map_err(|e| GpioError::io("kill-switch interrupt", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a machine rppal does not recognise (any x86 host), opening a Pi
    /// board fails with the typed error instead of panicking.
    #[test]
    fn elsewhere_it_says_not_a_raspberry_pi() {
        if DeviceInfo::new().is_ok() {
            eprintln!("skipped: this machine is a Raspberry Pi");
            return;
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/rpi4-rover.toml");
        let board = BoardFile::load(path).expect("rpi4-rover.toml is valid");
        match Rpi::open(&board) {
            Err(e @ GpioError::NotARaspberryPi(_)) => {
                assert!(e.to_string().starts_with("not a Raspberry Pi: "), "{e}");
                assert_eq!(crate::Error::kind(&e), crate::ErrorKind::Unsupported);
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("opened a Raspberry Pi board on a machine that is not one"),
        }
    }
}
