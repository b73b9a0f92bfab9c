//! One trait per capability, embedded-hal style.
//!
//! Each trait is small, every method is fallible with the device's own
//! error (see [`crate::ErrorType`]), and nothing here configures a device:
//! pins, ports, limits and calibration are given to a backend's constructor
//! from the board file. Sensors take `&mut self` because reading real
//! hardware mutates driver state; the [`Clock`] and [`SafeStop`] take `&self`
//! because they are shared across threads.
//!
//! The blanket `&mut T` impls let generic code borrow devices, and the
//! [`erased`] module turns any implementation into a boxed trait object with
//! a [`crate::DeviceError`], which is how the tool registry holds them.

mod battery;
mod camera;
mod clock;
mod detector;
mod digital;
mod drive;
mod gripper;
mod led;
mod odometry;
mod range;
mod safe_stop;
mod speaker;
mod thermometer;

pub mod erased;

pub use battery::Battery;
pub use camera::Camera;
pub use clock::{Clock, MonotonicClock};
pub use detector::ObjectDetector;
pub use digital::{InputPin, OutputPin, WaitForEdge};
pub use drive::DifferentialDrive;
pub use gripper::Gripper;
pub use led::Led;
pub use odometry::Odometry;
pub use range::RangeSensor;
pub use safe_stop::SafeStop;
pub use speaker::Speaker;
pub use thermometer::Thermometer;
