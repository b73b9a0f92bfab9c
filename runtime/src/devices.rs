//! The devices a board binds to its tools, held as type-erased handles.
//!
//! A backend (simulator, serial co-processor, later Raspberry Pi / Jetson
//! GPIO) builds one [`Devices`] from its board file; skills use whichever
//! capabilities they need and report a clear error when the board lacks one.

use robot_hal::capability::erased::*;
use robot_hal::{DeviceError, ErrorKind};

/// Every capability a tool may need; `None` where the board has none.
#[derive(Default)]
pub struct Devices {
    pub drive: Option<DynDrive>,
    pub odometry: Option<DynOdometry>,
    pub range: Option<DynRange>,
    pub battery: Option<DynBattery>,
    pub thermometer: Option<DynThermometer>,
    pub led: Option<DynLed>,
    pub speaker: Option<DynSpeaker>,
    pub gripper: Option<DynGripper>,
    pub camera: Option<DynCamera>,
    pub detector: Option<DynDetector>,
}

pub(crate) fn missing(what: &str) -> DeviceError {
    DeviceError::new(ErrorKind::Unsupported, format!("this board has no {what}"))
}

macro_rules! getter {
    ($name:ident, $ty:ty, $what:literal) => {
        pub fn $name(&mut self) -> Result<&mut $ty, DeviceError> {
            self.$name.as_mut().ok_or_else(|| missing($what))
        }
    };
}

/// Accessors that turn a missing device into an `Unsupported` error.
impl Devices {
    getter!(drive, DynDrive, "drive");
    getter!(odometry, DynOdometry, "odometry");
    getter!(range, DynRange, "range sensor");
    getter!(battery, DynBattery, "battery monitor");
    getter!(thermometer, DynThermometer, "thermometer");
    getter!(led, DynLed, "LED");
    getter!(speaker, DynSpeaker, "speaker");
    getter!(gripper, DynGripper, "gripper");
    getter!(camera, DynCamera, "camera");
    getter!(detector, DynDetector, "object detector");
}
