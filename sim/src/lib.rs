//! `robot-sim` is a deterministic 2-D simulator of the reference rover: a
//! differential-drive robot with a gripper, RGB LED, speaker, camera, object
//! detector and forward range sensor, in a small house (see [`map`]).
//!
//! It implements the `robot-hal` capability traits ([`SimDevices`]), so the
//! runtime drives it through exactly the code it would use on hardware. Time
//! is simulated: `SimClock::sleep` (its [`robot_hal::capability::Clock`] impl) steps the world in fixed physics steps,
//! so a run is as fast as the CPU allows and, given the seed and the same
//! commands, identical every time. The kill-switch line ([`SimEstopLine`])
//! and the actuators' safe-stop latches ([`Sim::safe_stops`]) behave like
//! the hardware ones: lock-free, latched, and refusing writes until rearmed.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use robot_hal::capability::{Clock, DifferentialDrive};
//! let board = robot_hal::board::BoardFile::load("boards/sim-rover.toml")?;
//! let sim = robot_sim::Sim::from_board(&board)?;
//! let mut dev = sim.devices();
//! dev.drive.set_wheel_speeds(0.3, 0.3)?;
//! sim.clock().sleep(std::time::Duration::from_secs(2));
//! println!("{:?}", sim.truth());
//! # Ok(()) }
//! ```

mod camera;
mod devices;
mod error;
mod estop;
pub mod geometry;
pub mod lines;
pub mod map;
mod safe_stop;
mod sensing;
mod sim;
mod svg;
mod world;

pub use camera::{encode_png, try_encode_png, FRAME_HEIGHT, FRAME_WIDTH};
pub use devices::{
    SimBattery, SimCamera, SimDetector, SimDevices, SimDrive, SimGripper, SimLed, SimOdometry, SimRange, SimSpeaker,
    SimThermometer,
};
pub use error::SimError;
pub use estop::SimEstopLine;
pub use lines::SimOutputPin;
pub use sensing::{DETECT_MAX_M, HALF_FOV_DEG, RANGE_MAX_M};
pub use sim::{Sim, SimClock, BARRIER_TIMEOUT};
pub use world::{SimObject, GRIP_HALF_ANGLE_DEG, GRIP_REACH_M, ROVER_RADIUS_M};
