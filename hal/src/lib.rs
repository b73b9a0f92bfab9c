//! `robot-hal` is the seam between the runtime and the devices of a robot.
//!
//! It follows the embedded-hal pattern: one small trait per capability
//! ([`capability`]), every method fallible, every error with a [`ErrorKind`]
//! so generic code can react without knowing the backend. Initialisation and
//! configuration live outside the traits, in each backend's constructor,
//! driven by the board file ([`board`]). The board file also declares the
//! robot's tools, from which [`tools::ToolRegistry`] is built; the
//! [`program`] language is what the brain emits and the operator types, and
//! it is checked against that registry before anything moves. Hardware
//! backends that are not simulation live here too ([`serial`]: a link to a
//! motor/sensor co-processor; `rpi` and `linux_gpio`, behind the features of
//! the same names, for devices on a board's own GPIO header, sharing the
//! hardware-free logic in [`gpio`]).

pub mod board;
pub mod capability;
pub mod error;
pub mod gpio;
pub mod host;
#[cfg(feature = "linux-gpio")]
pub mod linux_gpio;
pub mod program;
#[cfg(feature = "rpi")]
pub mod rpi;
pub mod serial;
pub mod tools;
pub mod types;

pub use error::{DeviceError, Error, ErrorKind, ErrorType};
pub use types::*;
