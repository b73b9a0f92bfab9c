//! Type erasure for devices held as trait objects.
//!
//! The tool registry binds tools to whatever devices a board has, chosen at
//! run time, so it holds `Box<dyn DifferentialDrive<Error = DeviceError>>`
//! and friends. [`Erased`] wraps any implementation and converts its error
//! into [`DeviceError`], keeping the kind.

use std::time::Duration;

use super::*;
use crate::{BatteryState, Detection, DeviceError, ErrorType, Frame, GripperState, Pose, Rgb};

/// Wraps a device and erases its error type.
#[derive(Debug)]
pub struct Erased<T>(pub T);

impl<T> ErrorType for Erased<T> {
    type Error = DeviceError;
}

fn e<E: crate::Error>(err: E) -> DeviceError {
    DeviceError::from_error(err)
}

impl<T: DifferentialDrive> DifferentialDrive for Erased<T> {
    fn set_wheel_speeds(&mut self, l: f64, r: f64) -> Result<(), DeviceError> {
        self.0.set_wheel_speeds(l, r).map_err(e)
    }
    fn stop(&mut self) -> Result<(), DeviceError> {
        self.0.stop().map_err(e)
    }
    fn track_width_m(&self) -> f64 {
        self.0.track_width_m()
    }
    fn max_wheel_speed_mps(&self) -> f64 {
        self.0.max_wheel_speed_mps()
    }
}
impl<T: Odometry> Odometry for Erased<T> {
    fn pose(&mut self) -> Result<Pose, DeviceError> {
        self.0.pose().map_err(e)
    }
}
impl<T: RangeSensor> RangeSensor for Erased<T> {
    fn distance_m(&mut self) -> Result<f64, DeviceError> {
        self.0.distance_m().map_err(e)
    }
    fn max_range_m(&self) -> f64 {
        self.0.max_range_m()
    }
}
impl<T: Battery> Battery for Erased<T> {
    fn state(&mut self) -> Result<BatteryState, DeviceError> {
        self.0.state().map_err(e)
    }
}
impl<T: Led> Led for Erased<T> {
    fn set_color(&mut self, c: Rgb) -> Result<(), DeviceError> {
        self.0.set_color(c).map_err(e)
    }
}
impl<T: Speaker> Speaker for Erased<T> {
    fn say(&mut self, text: &str) -> Result<(), DeviceError> {
        self.0.say(text).map_err(e)
    }
}
impl<T: Gripper> Gripper for Erased<T> {
    fn open(&mut self) -> Result<(), DeviceError> {
        self.0.open().map_err(e)
    }
    fn close(&mut self) -> Result<(), DeviceError> {
        self.0.close().map_err(e)
    }
    fn state(&mut self) -> Result<GripperState, DeviceError> {
        self.0.state().map_err(e)
    }
}
impl<T: Thermometer> Thermometer for Erased<T> {
    fn celsius(&mut self) -> Result<f64, DeviceError> {
        self.0.celsius().map_err(e)
    }
}
impl<T: Camera> Camera for Erased<T> {
    fn capture(&mut self) -> Result<Frame, DeviceError> {
        self.0.capture().map_err(e)
    }
}
impl<T: ObjectDetector> ObjectDetector for Erased<T> {
    fn detect(&mut self) -> Result<Vec<Detection>, DeviceError> {
        self.0.detect().map_err(e)
    }
    fn half_fov_deg(&self) -> f64 {
        self.0.half_fov_deg()
    }
}
impl<T: InputPin> InputPin for Erased<T> {
    fn is_high(&mut self) -> Result<bool, DeviceError> {
        self.0.is_high().map_err(e)
    }
}
impl<T: WaitForEdge> WaitForEdge for Erased<T> {
    fn wait_for_edge(&mut self, timeout: Duration) -> Result<bool, DeviceError> {
        self.0.wait_for_edge(timeout).map_err(e)
    }
}
impl<T: OutputPin> OutputPin for Erased<T> {
    fn set_high(&mut self) -> Result<(), DeviceError> {
        self.0.set_high().map_err(e)
    }
    fn set_low(&mut self) -> Result<(), DeviceError> {
        self.0.set_low().map_err(e)
    }
}

pub type DynDrive = Box<dyn DifferentialDrive<Error = DeviceError> + Send>;
pub type DynOdometry = Box<dyn Odometry<Error = DeviceError> + Send>;
pub type DynRange = Box<dyn RangeSensor<Error = DeviceError> + Send>;
pub type DynBattery = Box<dyn Battery<Error = DeviceError> + Send>;
pub type DynLed = Box<dyn Led<Error = DeviceError> + Send>;
pub type DynSpeaker = Box<dyn Speaker<Error = DeviceError> + Send>;
pub type DynGripper = Box<dyn Gripper<Error = DeviceError> + Send>;
pub type DynThermometer = Box<dyn Thermometer<Error = DeviceError> + Send>;
pub type DynCamera = Box<dyn Camera<Error = DeviceError> + Send>;
pub type DynDetector = Box<dyn ObjectDetector<Error = DeviceError> + Send>;
pub type DynInput = Box<dyn WaitForEdge<Error = DeviceError> + Send>;
pub type DynOutput = Box<dyn OutputPin<Error = DeviceError> + Send>;
