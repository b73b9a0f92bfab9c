//! What the two GPIO backends (`rpi`, `linux_gpio`) share and what the
//! board checker needs to know about header pins, kept free of any
//! hardware crate so it builds and is tested everywhere: which pins exist
//! and which carry hardware PWM ([`pins`]), how a wheel speed becomes a
//! duty cycle and direction and a jaw position a servo pulse ([`motor`]),
//! the latch a GPIO safe stop shares with its drive ([`latch`]), and the
//! drive, gripper, LED and safe stop themselves over abstract lines
//! ([`devices`]), with the backends' common error ([`GpioError`]). For
//! closed-loop motion: wheel-encoder counting ([`encoder`], fed by edge
//! events, on a thread of its own where needed: [`edges`]), pure
//! differential-drive dead reckoning ([`odometry`]) and the odometry device
//! over both ([`wheel_odometry`]); and the I2C and sysfs sensors
//! ([`sensors`]). [`setup`] turns the board file's `[gpio]` section into
//! what both backends build these from.

pub mod devices;
pub mod edges;
pub mod encoder;
pub mod error;
pub mod latch;
pub mod motor;
pub mod odometry;
pub mod pins;
pub mod sensors;
pub mod setup;
pub mod wheel_odometry;

pub use devices::{DigitalOut, EnableLatch, GpioDrive, GpioGripper, GpioLed, GpioSafeStop, Motor, PwmOut, PwmStop};
pub use edges::{EdgeSource, EdgeWorker, LineMap};
pub use encoder::{Channel, Encoders, Wheel};
pub use error::GpioError;
pub use latch::MotorLatch;
pub use motor::{servo_duty, wheel_command, WheelCommand};
pub use odometry::{counts_per_rev, PoseIntegrator, WheelGeometry};
pub use pins::{linux_gpio_pin_exists, rpi_hw_pwm_channel, rpi_pin_exists, LINUX_GPIO_MAX_LINE, RPI_MAX_BCM};
pub use sensors::SensorError;
pub use wheel_odometry::{HeadingSensor, WheelOdometry};
