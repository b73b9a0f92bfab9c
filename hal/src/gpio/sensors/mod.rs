//! The sensors of the GPIO boards: on the board's I2C bus an INA219
//! battery monitor ([`ina219`]), a BNO055 IMU for heading ([`bno055`]) and
//! a VL53L0X range sensor ([`vl53l0x`]), sharing the bus through
//! [`SharedI2c`]; and the SoC thermal zone ([`thermal`]). All are written
//! against embedded-hal 1.0, so the same code runs over rppal's I2C on a
//! Pi and `linux-embedded-hal` on a Jetson, and is tested here against
//! `embedded-hal-mock`. [`open`] builds whichever the board file names;
//! a sensor it does not name is simply absent, and the runtime reports
//! "this board has no ..." when a tool asks for it.

pub mod bno055;
pub mod bus;
pub mod error;
pub mod ina219;
pub mod open;
pub mod thermal;
pub mod vl53l0x;

pub use bno055::Bno055Heading;
pub use bus::SharedI2c;
pub use error::SensorError;
pub use ina219::{charge_from_voltage, Ina219Battery};
pub use open::{open_i2c_sensors, I2cSensors, StdDelay};
pub use thermal::{ThermalZone, DEFAULT_THERMAL_ZONE};
pub use vl53l0x::{range_m, Millimetres, TofRange, Vl53l0xChip, VL53L0X_MAX_RANGE_M};
