//! Building the I2C sensors a board file names, over an already opened
//! bus (the backends open the bus: rppal on a Pi, `/dev/i2c-N` through
//! `linux-embedded-hal` elsewhere). A named sensor that does not answer
//! fails the whole open with a typed error: the board file says it is
//! there, and a robot that silently lost its battery monitor would drive
//! on a flat battery.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

use super::bno055::Bno055Heading;
use super::bus::SharedI2c;
use super::error::SensorError;
use super::ina219::Ina219Battery;
use super::vl53l0x::{TofRange, Vl53l0xChip, VL53L0X_MAX_RANGE_M};
use crate::board::GpioConfig;
use crate::capability::erased::{DynBattery, DynRange, Erased};
use crate::gpio::wheel_odometry::HeadingSensor;

/// `std::thread::sleep` as an embedded-hal delay.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdDelay;

impl DelayNs for StdDelay {
    fn delay_ns(&mut self, ns: u32) {
        std::thread::sleep(std::time::Duration::from_nanos(u64::from(ns)));
    }
}

/// The I2C sensors of a board; `None` where the board file names none.
#[derive(Default)]
pub struct I2cSensors {
    pub battery: Option<DynBattery>,
    pub range: Option<DynRange>,
    /// For [`crate::gpio::WheelOdometry`]; without encoders it is unused.
    pub heading: Option<Box<dyn HeadingSensor>>,
}

/// Open the sensors `g` names on `bus`.
pub fn open_i2c_sensors<B>(g: &GpioConfig, bus: B, delay: &mut impl DelayNs) -> Result<I2cSensors, SensorError>
where
    B: I2c + Send + 'static,
{
    let bus = SharedI2c::new(bus);
    let mut s = I2cSensors::default();
    if let Some(addr) = g.battery_monitor_addr {
        let b = Ina219Battery::new(bus.clone(), addr, g.battery_empty_v, g.battery_full_v)?;
        s.battery = Some(Box::new(Erased(b)));
    }
    if let Some(addr) = g.range_sensor_addr {
        let chip = Vl53l0xChip::new(bus.clone(), addr)?;
        s.range = Some(Box::new(Erased(TofRange::new(chip, VL53L0X_MAX_RANGE_M))));
    }
    if let Some(addr) = g.imu_addr {
        s.heading = Some(Box::new(Bno055Heading::new(bus.clone(), addr, delay)?));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    use super::*;
    use crate::board::BoardFile;

    fn gpio(path: &str) -> GpioConfig {
        let board = BoardFile::load(format!("{}/../boards/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        board.gpio.unwrap()
    }

    #[test]
    fn opens_what_the_board_names_on_one_bus() {
        let mut g = gpio("rpi4-rover.toml");
        // The VL53L0X's tuning load is long; leave it out and check the others.
        g.range_sensor_addr = None;
        let (batt, imu) = (g.battery_monitor_addr.unwrap(), g.imu_addr.unwrap());
        let mut mock = Mock::new(&[
            Transaction::write_read(imu, vec![0x00], vec![0xA0]),
            Transaction::write(imu, vec![0x3D, 0x08]),
            Transaction::write_read(batt, vec![0x02], ((8_000u16 / 4) << 3).to_be_bytes().to_vec()),
            Transaction::write_read(imu, vec![0x1A], 160i16.to_le_bytes().to_vec()),
        ]);
        let mut s = open_i2c_sensors(&g, mock.clone(), &mut NoopDelay::new()).unwrap();
        assert!(s.range.is_none());
        assert_eq!(s.battery.as_mut().unwrap().state().unwrap().voltage_v, 8.0);
        assert_eq!(s.heading.as_mut().unwrap().heading_deg().unwrap(), -10.0);
        mock.done();
    }

    #[test]
    fn a_board_without_i2c_sensors_opens_nothing() {
        let mut g = gpio("rpi4-rover.toml");
        (g.battery_monitor_addr, g.range_sensor_addr, g.imu_addr) = (None, None, None);
        let mut mock = Mock::new(&[]);
        let s = open_i2c_sensors(&g, mock.clone(), &mut NoopDelay::new()).unwrap();
        assert!(s.battery.is_none() && s.range.is_none() && s.heading.is_none());
        mock.done();
    }
}
