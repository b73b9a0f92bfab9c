//! Handles on the simulated devices, one type per capability trait.
//!
//! Every handle shares the one world: sensors read it under the world lock
//! at the current simulated time; actuators write their atomic command word
//! (drive, gripper) or the world (LED, speaker). The runtime wraps these in
//! `robot_hal::capability::erased::Erased` exactly as it would hardware
//! drivers, so nothing above the HAL knows it is simulated.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use robot_hal::capability::{
    Battery, Camera, DifferentialDrive, Gripper, Led, ObjectDetector, Odometry, RangeSensor, Speaker, Thermometer,
};
use robot_hal::{BatteryState, Detection, ErrorType, Frame, GripperPosition, GripperState, Pose, Rgb};

use crate::error::SimError;
use crate::estop::SimEstopLine;
use crate::sensing::{HALF_FOV_DEG, RANGE_MAX_M};
use crate::sim::Shared;

/// Every device of the simulated rover.
#[derive(Debug)]
pub struct SimDevices {
    pub drive: SimDrive,
    pub odometry: SimOdometry,
    pub range: SimRange,
    pub battery: SimBattery,
    pub thermometer: SimThermometer,
    pub led: SimLed,
    pub speaker: SimSpeaker,
    pub gripper: SimGripper,
    pub camera: SimCamera,
    pub detector: SimDetector,
    pub estop_line: SimEstopLine,
}

impl SimDevices {
    pub(crate) fn new(shared: &Arc<Shared>) -> SimDevices {
        let max = shared.world().params.max_wheel_speed_mps;
        let track = shared.world().params.track_width_m;
        let h = || Handle(shared.clone());
        SimDevices {
            drive: SimDrive { shared: shared.clone(), max_wheel_speed_mps: max, track_width_m: track },
            odometry: SimOdometry(h()),
            range: SimRange(h()),
            battery: SimBattery(h()),
            thermometer: SimThermometer(h()),
            led: SimLed(h()),
            speaker: SimSpeaker(h()),
            gripper: SimGripper(h()),
            camera: SimCamera(h()),
            detector: SimDetector(h()),
            estop_line: SimEstopLine::new(shared.line.clone()),
        }
    }
}

/// The shared state, with a `Debug` that does not dump the world.
#[derive(Clone)]
struct Handle(Arc<Shared>);

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sim")
    }
}

macro_rules! device {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(Handle);

        impl ErrorType for $name {
            type Error = SimError;
        }
    };
}

device!(
    /// Wheel odometry (noisy).
    SimOdometry
);
device!(
    /// Forward range sensor on the front edge.
    SimRange
);
device!(SimBattery);
device!(SimThermometer);
device!(SimLed);
device!(
    /// A text log of speech with simulated timestamps.
    SimSpeaker
);
device!(SimGripper);
device!(SimCamera);
device!(SimDetector);

/// The differential drive: writes the lock-free command word.
#[derive(Debug, Clone)]
pub struct SimDrive {
    shared: Arc<Shared>,
    max_wheel_speed_mps: f64,
    track_width_m: f64,
}

impl ErrorType for SimDrive {
    type Error = SimError;
}

impl DifferentialDrive for SimDrive {
    fn set_wheel_speeds(&mut self, left_mps: f64, right_mps: f64) -> Result<(), SimError> {
        let max = self.max_wheel_speed_mps;
        for (what, v) in [("left wheel speed", left_mps), ("right wheel speed", right_mps)] {
            if !v.is_finite() || v.abs() > max + 1e-9 {
                return Err(SimError::OutOfRange { what, value: v, limit: max });
            }
        }
        if (left_mps != 0.0 || right_mps != 0.0) && self.shared.flat.load(Ordering::Acquire) {
            return Err(SimError::BatteryEmpty);
        }
        self.shared.drive.set(left_mps, right_mps)
    }

    /// Stopping is always allowed: a latched drive is already stopped.
    fn stop(&mut self) -> Result<(), SimError> {
        match self.shared.drive.set(0.0, 0.0) {
            Err(SimError::Refused(_)) => Ok(()),
            r => r,
        }
    }

    fn track_width_m(&self) -> f64 {
        self.track_width_m
    }

    fn max_wheel_speed_mps(&self) -> f64 {
        self.max_wheel_speed_mps
    }
}

impl Odometry for SimOdometry {
    fn pose(&mut self) -> Result<Pose, SimError> {
        Ok(self.0 .0.world().odometry.pose())
    }
}

impl RangeSensor for SimRange {
    fn distance_m(&mut self) -> Result<f64, SimError> {
        Ok(self.0 .0.world().range_m())
    }

    fn max_range_m(&self) -> f64 {
        RANGE_MAX_M
    }
}

impl Battery for SimBattery {
    fn state(&mut self) -> Result<BatteryState, SimError> {
        let w = self.0 .0.world();
        Ok(BatteryState { charge: w.battery, voltage_v: w.voltage() })
    }
}

impl Thermometer for SimThermometer {
    fn celsius(&mut self) -> Result<f64, SimError> {
        Ok(self.0 .0.world().celsius())
    }
}

impl Led for SimLed {
    fn set_color(&mut self, color: Rgb) -> Result<(), SimError> {
        self.0 .0.world().led = color;
        Ok(())
    }
}

impl Speaker for SimSpeaker {
    fn say(&mut self, text: &str) -> Result<(), SimError> {
        let mut w = self.0 .0.world();
        let now = w.now;
        w.speech.push((now, text.to_string()));
        Ok(())
    }
}

impl Gripper for SimGripper {
    fn open(&mut self) -> Result<(), SimError> {
        let shared = &self.0 .0;
        if shared.gripper.set_closed(false)? {
            shared.world().release();
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), SimError> {
        let shared = &self.0 .0;
        if shared.gripper.set_closed(true)? {
            shared.world().grab();
        }
        Ok(())
    }

    fn state(&mut self) -> Result<GripperState, SimError> {
        let shared = &self.0 .0;
        let position = if shared.gripper.is_closed() { GripperPosition::Closed } else { GripperPosition::Open };
        Ok(GripperState { position, holding: shared.world().held.is_some() })
    }
}

impl Camera for SimCamera {
    fn capture(&mut self) -> Result<Frame, SimError> {
        Ok(crate::camera::render(&self.0 .0.world()))
    }
}

impl ObjectDetector for SimDetector {
    fn detect(&mut self) -> Result<Vec<Detection>, SimError> {
        Ok(self.0 .0.world().detect())
    }

    fn half_fov_deg(&self) -> f64 {
        HALF_FOV_DEG
    }
}
