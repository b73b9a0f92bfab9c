//! Device handles over the serial link, one per capability trait.
//!
//! Each handle owns a [`LinkClient`] and turns trait calls into requests:
//! actuators send commands and map a `Nack` onto an [`ErrorKind`], sensors
//! ask for a fresh `State` and convert its fixed-point fields to SI units.
//! The kill-switch latch is shared by every handle of one link:
//! [`SerialSafeStop`] engages it, and while it is engaged the drive and the
//! gripper refuse with `Refused` before anything reaches the port.
//!
//! [`ErrorKind`]: crate::ErrorKind

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::capability::{
    Battery, DifferentialDrive, Gripper, InputPin, Led, Odometry, RangeSensor, SafeStop, Thermometer, WaitForEdge,
};
use crate::{BatteryState, DeviceError, ErrorType, GripperPosition, GripperState, Pose, Rgb};

use super::link::{lock, LinkClient, SerialError, SerialLink, Shared};
use super::messages::{McuState, Request};

impl SerialLink {
    pub fn drive(&self, track_width_m: f64, max_wheel_speed_mps: f64) -> SerialDrive {
        SerialDrive { client: self.client(), track_width_m, max_wheel_speed_mps }
    }
    pub fn odometry(&self) -> SerialOdometry {
        SerialOdometry { client: self.client() }
    }
    pub fn range(&self, max_range_m: f64) -> SerialRange {
        SerialRange { client: self.client(), max_range_m }
    }
    pub fn battery(&self) -> SerialBattery {
        SerialBattery { client: self.client() }
    }
    pub fn thermometer(&self) -> SerialThermometer {
        SerialThermometer { client: self.client() }
    }
    pub fn led(&self) -> SerialLed {
        SerialLed { client: self.client() }
    }
    pub fn gripper(&self) -> SerialGripper {
        SerialGripper { client: self.client() }
    }
    /// The kill-switch line as the co-processor reads it. A cached `State`
    /// younger than `max_age` answers reads without a round trip.
    pub fn estop_line(&self, max_age: Duration) -> SerialEstopLine {
        SerialEstopLine { client: self.client(), max_age }
    }
    pub fn safe_stop(&self, name: impl Into<String>) -> SerialSafeStop {
        SerialSafeStop { name: name.into(), link: self.clone() }
    }
}

fn refuse_if_latched(shared: &Shared) -> Result<(), SerialError> {
    if shared.is_latched() {
        Err(SerialError::Refused)
    } else {
        Ok(())
    }
}

macro_rules! serial_error_type {
    ($($t:ty),*) => {
        $(impl ErrorType for $t {
            type Error = SerialError;
        })*
    };
}

serial_error_type!(
    SerialDrive,
    SerialOdometry,
    SerialRange,
    SerialBattery,
    SerialThermometer,
    SerialLed,
    SerialGripper,
    SerialEstopLine
);

/// The wheel motors.
#[derive(Debug)]
pub struct SerialDrive {
    client: LinkClient,
    track_width_m: f64,
    max_wheel_speed_mps: f64,
}

impl SerialDrive {
    fn to_mm_s(&self, what: &'static str, mps: f64) -> Result<i16, SerialError> {
        let limit = self.max_wheel_speed_mps.min(f64::from(i16::MAX) / 1000.0);
        if !mps.is_finite() || mps.abs() > limit {
            return Err(SerialError::OutOfRange { what, value: mps, limit });
        }
        // In range of i16 by the check above.
        Ok((mps * 1000.0).round() as i16)
    }
}

impl DifferentialDrive for SerialDrive {
    fn set_wheel_speeds(&mut self, left_mps: f64, right_mps: f64) -> Result<(), SerialError> {
        let left_mm_s = self.to_mm_s("left wheel speed (m/s)", left_mps)?;
        let right_mm_s = self.to_mm_s("right wheel speed (m/s)", right_mps)?;
        refuse_if_latched(self.client.link().shared())?;
        self.client.command(Request::SetWheels { left_mm_s, right_mm_s })
    }

    /// Stopping is always allowed, latched or not.
    fn stop(&mut self) -> Result<(), SerialError> {
        self.client.command(Request::Stop)
    }

    fn track_width_m(&self) -> f64 {
        self.track_width_m
    }

    fn max_wheel_speed_mps(&self) -> f64 {
        self.max_wheel_speed_mps
    }
}

/// Wheel odometry integrated on the co-processor.
#[derive(Debug)]
pub struct SerialOdometry {
    client: LinkClient,
}

impl Odometry for SerialOdometry {
    fn pose(&mut self) -> Result<Pose, SerialError> {
        let s = self.client.state()?;
        Ok(Pose::new(f64::from(s.x_mm) / 1000.0, f64::from(s.y_mm) / 1000.0, f64::from(s.heading_cdeg) / 100.0))
    }
}

/// The forward range sensor.
#[derive(Debug)]
pub struct SerialRange {
    client: LinkClient,
    max_range_m: f64,
}

impl RangeSensor for SerialRange {
    fn distance_m(&mut self) -> Result<f64, SerialError> {
        let s = self.client.state()?;
        Ok((f64::from(s.range_mm) / 1000.0).min(self.max_range_m))
    }

    fn max_range_m(&self) -> f64 {
        self.max_range_m
    }
}

/// The battery monitor.
#[derive(Debug)]
pub struct SerialBattery {
    client: LinkClient,
}

impl Battery for SerialBattery {
    fn state(&mut self) -> Result<BatteryState, SerialError> {
        let s = self.client.state()?;
        Ok(BatteryState {
            charge: (f64::from(s.charge_permille) / 1000.0).clamp(0.0, 1.0),
            voltage_v: f64::from(s.battery_mv) / 1000.0,
        })
    }
}

/// The board temperature sensor.
#[derive(Debug)]
pub struct SerialThermometer {
    client: LinkClient,
}

impl Thermometer for SerialThermometer {
    fn celsius(&mut self) -> Result<f64, SerialError> {
        Ok(f64::from(self.client.state()?.temp_cdeg) / 100.0)
    }
}

/// The status LED.
#[derive(Debug)]
pub struct SerialLed {
    client: LinkClient,
}

impl Led for SerialLed {
    fn set_color(&mut self, c: Rgb) -> Result<(), SerialError> {
        self.client.command(Request::SetLed { r: c.r, g: c.g, b: c.b })
    }
}

/// The gripper servo.
#[derive(Debug)]
pub struct SerialGripper {
    client: LinkClient,
}

impl SerialGripper {
    fn set(&mut self, close: bool) -> Result<(), SerialError> {
        refuse_if_latched(self.client.link().shared())?;
        self.client.command(Request::Gripper { close })
    }
}

impl Gripper for SerialGripper {
    fn open(&mut self) -> Result<(), SerialError> {
        self.set(false)
    }

    fn close(&mut self) -> Result<(), SerialError> {
        self.set(true)
    }

    fn state(&mut self) -> Result<GripperState, SerialError> {
        let s = self.client.state()?;
        let position = if s.gripper_closed { GripperPosition::Closed } else { GripperPosition::Open };
        Ok(GripperState { position, holding: s.holding })
    }
}

/// The kill-switch line, wired to the co-processor. Active low: `is_high`
/// means released. A link that is down reads as an error, never as
/// released, so the safety monitor fails safe.
#[derive(Debug)]
pub struct SerialEstopLine {
    client: LinkClient,
    max_age: Duration,
}

impl SerialEstopLine {
    fn current(&mut self) -> Result<McuState, SerialError> {
        let shared = self.client.link().shared();
        if shared.is_down() {
            return Err(SerialError::Disconnected);
        }
        let cached = lock(&shared.state).last;
        match cached {
            Some((s, at)) if at.elapsed() <= self.max_age => Ok(s),
            _ => self.client.state(),
        }
    }
}

impl InputPin for SerialEstopLine {
    fn is_high(&mut self) -> Result<bool, SerialError> {
        Ok(!self.current()?.estop_line_low)
    }
}

impl WaitForEdge for SerialEstopLine {
    /// Wakes when a `State` shows the line at a new level or the link's
    /// health changes; the caller re-reads the level either way.
    fn wait_for_edge(&mut self, timeout: Duration) -> Result<bool, SerialError> {
        let shared: Arc<Shared> = self.client.link().shared().clone();
        let deadline = Instant::now() + timeout;
        let mut cache = lock(&shared.state);
        let seen = cache.epoch;
        while cache.epoch == seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            cache = shared.state_changed.wait_timeout(cache, left).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
        }
        Ok(true)
    }
}

/// The co-processor's side of the kill-switch. `force_safe` only stores
/// two atomics (the latch and the priority slot the I/O thread checks
/// before every write), so it returns in microseconds whatever the link is
/// doing, and the `EStop` frame overtakes every queued command.
#[derive(Debug, Clone)]
pub struct SerialSafeStop {
    name: String,
    link: SerialLink,
}

impl SafeStop for SerialSafeStop {
    fn name(&self) -> &str {
        &self.name
    }

    fn force_safe(&self) -> Result<(), DeviceError> {
        let shared = self.link.shared();
        shared.request_estop();
        if shared.is_down() {
            // Latched here regardless; the caller learns the co-processor
            // may not have heard (its own watchdog is the backstop).
            return Err(DeviceError::from_error(SerialError::Disconnected));
        }
        Ok(())
    }

    fn is_safe(&self) -> bool {
        self.link.shared().is_latched()
    }

    fn rearm(&self) {
        self.link.shared().request_rearm();
    }
}
