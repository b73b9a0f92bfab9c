//! Heading from a BNO055 IMU, in its IMU fusion mode.
//!
//! The BNO055 fuses its gyro and accelerometer on chip and reports an
//! absolute Euler heading, so the heading stays right however rarely it
//! is polled (a bare gyro such as the MPU-6050 must be integrated at a
//! steady rate, which the executor's pose requests are not). Three
//! registers are all this needs (chip id, operating mode, heading), so the
//! driver is these few lines rather than the `bno055` crate, whose
//! initialisation soft-resets the chip (650 ms) and reconfigures units and
//! axes that the defaults already give. IMU mode ignores the
//! magnetometer, which motors and steel furniture disturb; the heading is
//! relative to where the chip powered up, which is what odometry wants.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

use super::error::SensorError;
use crate::gpio::wheel_odometry::HeadingSensor;

const DEVICE: &str = "BNO055 IMU";
const REG_CHIP_ID: u8 = 0x00;
const REG_EUL_HEADING_LSB: u8 = 0x1A;
const REG_OPR_MODE: u8 = 0x3D;
const CHIP_ID: u8 = 0xA0;
/// Operating mode IMU: accelerometer + gyro fusion, relative heading.
const MODE_IMU: u8 = 0x08;
/// Datasheet: switching from config mode to a fusion mode takes 7 ms.
const MODE_SWITCH_MS: u32 = 20;
/// Heading LSBs per degree (default unit setting).
const LSB_PER_DEG: f64 = 16.0;

/// A BNO055 at `addr` (0x28, or 0x29 with ADR high).
pub struct Bno055Heading<I2C> {
    i2c: I2C,
    addr: u8,
}

impl<I2C: I2c> Bno055Heading<I2C> {
    /// Check the chip id and start IMU fusion; `delay` waits out the mode switch.
    pub fn new(mut i2c: I2C, addr: u8, delay: &mut impl DelayNs) -> Result<Self, SensorError> {
        let mut id = [0u8];
        i2c.write_read(addr, &[REG_CHIP_ID], &mut id).map_err(|e| SensorError::i2c(DEVICE, addr, &e))?;
        if id[0] != CHIP_ID {
            return Err(SensorError::Invalid {
                device: DEVICE,
                addr,
                message: format!("chip id {:#04x}, expected {CHIP_ID:#04x}: not a BNO055", id[0]),
            });
        }
        i2c.write(addr, &[REG_OPR_MODE, MODE_IMU]).map_err(|e| SensorError::i2c(DEVICE, addr, &e))?;
        delay.delay_ms(MODE_SWITCH_MS);
        Ok(Self { i2c, addr })
    }
}

impl<I2C: I2c + Send> HeadingSensor for Bno055Heading<I2C> {
    fn heading_deg(&mut self) -> Result<f64, SensorError> {
        let mut raw = [0u8; 2];
        self.i2c
            .write_read(self.addr, &[REG_EUL_HEADING_LSB], &mut raw)
            .map_err(|e| SensorError::i2c(DEVICE, self.addr, &e))?;
        let clockwise = f64::from(i16::from_le_bytes(raw)) / LSB_PER_DEG;
        if !(0.0..=360.0).contains(&clockwise) {
            return Err(SensorError::Invalid {
                device: DEVICE,
                addr: self.addr,
                message: format!("heading {clockwise} degrees is outside 0 to 360"),
            });
        }
        // The chip counts clockwise; the odometry frame is counter-clockwise positive.
        Ok(-clockwise)
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal::i2c::{ErrorKind as I2cKind, NoAcknowledgeSource};
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    use super::*;
    use crate::{Error as _, ErrorKind};

    fn init() -> Vec<Transaction> {
        vec![Transaction::write_read(0x28, vec![0x00], vec![0xA0]), Transaction::write(0x28, vec![0x3D, 0x08])]
    }

    #[test]
    fn starts_imu_mode_and_reads_heading_counter_clockwise() {
        let mut t = init();
        // 90.5 degrees clockwise = 1448 LSB.
        t.push(Transaction::write_read(0x28, vec![0x1A], 1448i16.to_le_bytes().to_vec()));
        t.push(Transaction::write_read(0x28, vec![0x1A], 0x7fffi16.to_le_bytes().to_vec()));
        let mut mock = Mock::new(&t);
        let mut imu = Bno055Heading::new(mock.clone(), 0x28, &mut NoopDelay::new()).unwrap();
        assert_eq!(imu.heading_deg().unwrap(), -90.5);
        let e = imu.heading_deg().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Fault);
        mock.done();
    }

    #[test]
    fn another_chip_or_none_is_a_typed_error() {
        let mut mock = Mock::new(&[Transaction::write_read(0x28, vec![0x00], vec![0x68])]);
        let e = Bno055Heading::new(mock.clone(), 0x28, &mut NoopDelay::new()).err().unwrap();
        assert!(e.to_string().contains("not a BNO055"), "{e}");
        mock.done();

        let mut mock = Mock::new(&[Transaction::write_read(0x29, vec![0x00], vec![0])
            .with_error(I2cKind::NoAcknowledge(NoAcknowledgeSource::Address))]);
        let e = Bno055Heading::new(mock.clone(), 0x29, &mut NoopDelay::new()).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Disconnected);
        mock.done();
    }
}
