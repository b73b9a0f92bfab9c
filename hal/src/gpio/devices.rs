//! Drive, gripper, LED and safe stop over any GPIO lines and PWM outputs.
//!
//! Both backends (`rpi` on rppal, `linux_gpio` on the character device and
//! sysfs PWM) only open lines; the behaviour is here, written against the
//! three small traits below, so it is the same on every board and is
//! tested on any machine with fake lines.
//!
//! The safe stop shares nothing with the drive that the drive locks: a
//! [`MotorLatch`] (atomic flag + motor-enable output behind a mutex the
//! drive never takes) and the hardware PWM outputs, whose duty can be set
//! through a shared reference ([`PwmStop`]).

use std::sync::Arc;

use super::encoder::{Encoders, Wheel};
use super::error::GpioError;
use super::latch::MotorLatch;
use super::motor::{servo_duty, wheel_command, WheelCommand};
use crate::capability::{DifferentialDrive, Gripper, Led, SafeStop};
use crate::{DeviceError, ErrorType, GripperPosition, GripperState, Rgb};

/// A digital output line.
pub trait DigitalOut: Send {
    fn set(&mut self, high: bool) -> Result<(), GpioError>;
}

/// A PWM output (hardware or software).
pub trait PwmOut: Send {
    /// Set the duty cycle, 0 to 1.
    fn set_duty(&mut self, duty: f64) -> Result<(), GpioError>;
}

/// A PWM output that can be zeroed through a shared handle, from the safe
/// stop's thread, while the drive owns it for normal commands.
pub trait PwmStop: Send + Sync {
    fn zero(&self) -> Result<(), GpioError>;
}

/// The motor-enable latch every GPIO actuator checks.
pub type EnableLatch = MotorLatch<Box<dyn DigitalOut>>;

/// One H-bridge channel.
pub struct Motor {
    pub pwm: Box<dyn PwmOut>,
    pub in1: Box<dyn DigitalOut>,
    pub in2: Box<dyn DigitalOut>,
    pub reversed: bool,
}

impl Motor {
    fn apply(&mut self, c: WheelCommand) -> Result<(), GpioError> {
        // When stopping, zero the duty first, so a failed direction write
        // cannot leave the wheel driven.
        if c.duty == 0.0 {
            self.pwm.set_duty(0.0)?;
        }
        self.in1.set(c.in1)?;
        self.in2.set(c.in2)?;
        self.pwm.set_duty(c.duty)
    }
}

/// Two motors on an H-bridge, speeds open loop as duty over the maximum
/// (the skills close the loop on the odometry).
pub struct GpioDrive {
    pub left: Motor,
    pub right: Motor,
    pub latch: Arc<EnableLatch>,
    pub track_width_m: f64,
    pub max_wheel_speed_mps: f64,
    /// Single-channel wheel encoders learn each wheel's direction from here.
    pub encoders: Option<Arc<Encoders>>,
}

impl ErrorType for GpioDrive {
    type Error = GpioError;
}

impl DifferentialDrive for GpioDrive {
    fn set_wheel_speeds(&mut self, left_mps: f64, right_mps: f64) -> Result<(), GpioError> {
        let max = self.max_wheel_speed_mps;
        let l = wheel_command(left_mps, max, self.left.reversed).ok_or(GpioError::OutOfRange {
            what: "left wheel speed (m/s)",
            value: left_mps,
            limit: max,
        })?;
        let r = wheel_command(right_mps, max, self.right.reversed).ok_or(GpioError::OutOfRange {
            what: "right wheel speed (m/s)",
            value: right_mps,
            limit: max,
        })?;
        if self.latch.is_latched() && (l != WheelCommand::STOP || r != WheelCommand::STOP) {
            return Err(GpioError::Refused);
        }
        // Direction first: the first edge of a starting wheel must count the right way.
        if let Some(e) = &self.encoders {
            e.set_direction(Wheel::Left, left_mps);
            e.set_direction(Wheel::Right, right_mps);
        }
        self.left.apply(l)?;
        self.right.apply(r)
    }

    /// Stopping is always allowed, latched or not.
    fn stop(&mut self) -> Result<(), GpioError> {
        let left = self.left.apply(WheelCommand::STOP);
        let right = self.right.apply(WheelCommand::STOP);
        left.and(right)
    }

    fn track_width_m(&self) -> f64 {
        self.track_width_m
    }

    fn max_wheel_speed_mps(&self) -> f64 {
        self.max_wheel_speed_mps
    }
}

/// A servo gripper. It has no sensor, so it reports the last commanded
/// position and never claims to hold anything.
pub struct GpioGripper {
    pub servo: Box<dyn PwmOut>,
    pub open_us: u32,
    pub closed_us: u32,
    pub latch: Arc<EnableLatch>,
    pub position: GripperPosition,
}

impl ErrorType for GpioGripper {
    type Error = GpioError;
}

impl GpioGripper {
    fn move_to(&mut self, position: GripperPosition, pulse_us: u32) -> Result<(), GpioError> {
        if self.latch.is_latched() {
            return Err(GpioError::Refused);
        }
        self.servo.set_duty(servo_duty(pulse_us))?;
        self.position = position;
        Ok(())
    }
}

impl Gripper for GpioGripper {
    fn open(&mut self) -> Result<(), GpioError> {
        self.move_to(GripperPosition::Open, self.open_us)
    }
    fn close(&mut self) -> Result<(), GpioError> {
        self.move_to(GripperPosition::Closed, self.closed_us)
    }
    fn state(&mut self) -> Result<GripperState, GpioError> {
        Ok(GripperState { position: self.position, holding: false })
    }
}

/// An RGB LED on three on/off lines; a channel is on from half brightness.
pub struct GpioLed {
    pub lines: [Box<dyn DigitalOut>; 3],
}

impl ErrorType for GpioLed {
    type Error = GpioError;
}

impl Led for GpioLed {
    fn set_color(&mut self, c: Rgb) -> Result<(), GpioError> {
        for (line, v) in self.lines.iter_mut().zip([c.r, c.g, c.b]) {
            line.set(v >= 128)?;
        }
        Ok(())
    }
}

/// The safe stop of a GPIO board: latch, drop motor-enable, zero the
/// hardware PWM outputs. The servo is left where it is, so a held object
/// is not dropped.
pub struct GpioSafeStop {
    pub name: String,
    pub latch: Arc<EnableLatch>,
    pub pwms: Vec<Arc<dyn PwmStop>>,
}

impl SafeStop for GpioSafeStop {
    fn name(&self) -> &str {
        &self.name
    }

    fn force_safe(&self) -> Result<(), DeviceError> {
        let enable = self.latch.engage(|pin| pin.set(false));
        // Zero every duty even if the enable write failed: each is a second way to stop.
        let zeroed: Vec<_> = self.pwms.iter().map(|p| p.zero()).collect();
        enable.and(zeroed.into_iter().collect::<Result<(), _>>()).map_err(DeviceError::from_error)
    }

    fn is_safe(&self) -> bool {
        self.latch.is_latched()
    }

    fn rearm(&self) {
        // A failed write leaves the latch engaged, which the drive reports as Refused.
        let _ = self.latch.rearm(|pin| pin.set(true));
    }
}

#[cfg(test)]
mod tests;
