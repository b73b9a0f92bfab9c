//! Distance ahead from a VL53L0X time-of-flight sensor (the `vl53l0x`
//! driver crate), as a [`RangeSensor`].
//!
//! The chip reports 8190 or 8191 mm ("out of range") when nothing returns
//! the beam; that, and anything beyond the sensor's rated range, reads as
//! the maximum range, which is what the range-sensor contract asks for.

use embedded_hal::i2c::I2c;
use vl53l0x::{Error as ChipError, VL53L0x};

use super::error::SensorError;
use crate::capability::RangeSensor;
use crate::ErrorType;

const DEVICE: &str = "VL53L0X range sensor";

/// Rated range in the chip's default mode (white target, indoors).
pub const VL53L0X_MAX_RANGE_M: f64 = 2.0;

/// Metres for a reading in millimetres, out-of-range codes as `max_m`.
pub fn range_m(mm: u16, max_m: f64) -> f64 {
    (f64::from(mm) / 1000.0).min(max_m)
}

fn chip_error<E: embedded_hal::i2c::Error>(addr: u8, e: ChipError<E>) -> SensorError {
    match e {
        ChipError::BusError(e) => SensorError::i2c(DEVICE, addr, &e),
        ChipError::Timeout => SensorError::Timeout { device: DEVICE, addr },
        ChipError::InvalidDevice(id) => SensorError::Invalid {
            device: DEVICE,
            addr,
            message: format!("model id {id:#04x}, expected 0xee: not a VL53L0X"),
        },
        ChipError::InvalidAddress(a) => {
            SensorError::Invalid { device: DEVICE, addr, message: format!("{a:#04x} is not a 7-bit address") }
        }
    }
}

/// Something that measures once, in millimetres (the chip, or a test double).
pub trait Millimetres: Send {
    fn measure_mm(&mut self) -> Result<u16, SensorError>;
}

/// The VL53L0X driver as a [`Millimetres`] source.
pub struct Vl53l0xChip<I2C: I2c> {
    chip: VL53L0x<I2C>,
    addr: u8,
}

impl<I2C: I2c> Vl53l0xChip<I2C> {
    /// Check the model id and load the chip's tuning (the driver's init).
    pub fn new(i2c: I2C, addr: u8) -> Result<Self, SensorError> {
        let chip = VL53L0x::with_address(i2c, addr).map_err(|e| chip_error(addr, e))?;
        Ok(Self { chip, addr })
    }
}

impl<I2C: I2c + Send> Millimetres for Vl53l0xChip<I2C> {
    fn measure_mm(&mut self) -> Result<u16, SensorError> {
        self.chip.read_range_single_millimeters_blocking().map_err(|e| chip_error(self.addr, e))
    }
}

/// A range sensor over any [`Millimetres`] source.
pub struct TofRange<M> {
    source: M,
    max_m: f64,
}

impl<M: Millimetres> TofRange<M> {
    pub fn new(source: M, max_m: f64) -> Self {
        Self { source, max_m }
    }
}

impl<M> ErrorType for TofRange<M> {
    type Error = SensorError;
}

impl<M: Millimetres> RangeSensor for TofRange<M> {
    fn distance_m(&mut self) -> Result<f64, SensorError> {
        Ok(range_m(self.source.measure_mm()?, self.max_m))
    }
    fn max_range_m(&self) -> f64 {
        self.max_m
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal::i2c::{ErrorKind as I2cKind, NoAcknowledgeSource};
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    use super::*;
    use crate::{Error as _, ErrorKind};

    struct Readings(Vec<Result<u16, SensorError>>);
    impl Millimetres for Readings {
        fn measure_mm(&mut self) -> Result<u16, SensorError> {
            self.0.remove(0)
        }
    }

    #[test]
    fn millimetres_become_metres_and_out_of_range_is_max() {
        let timeout = SensorError::Timeout { device: DEVICE, addr: 0x29 };
        let mut r = TofRange::new(Readings(vec![Ok(412), Ok(8190), Err(timeout)]), VL53L0X_MAX_RANGE_M);
        assert_eq!(r.distance_m().unwrap(), 0.412);
        assert_eq!(r.distance_m().unwrap(), 2.0);
        assert_eq!(r.distance_m().unwrap_err().kind(), ErrorKind::Timeout);
        assert_eq!(r.max_range_m(), 2.0);
    }

    #[test]
    fn wrong_or_missing_chip_is_a_typed_error() {
        // The driver first reads the model id register (0xC0).
        let mut mock = Mock::new(&[Transaction::write_read(0x29, vec![0xC0], vec![0xAA])]);
        let e = Vl53l0xChip::new(mock.clone(), 0x29).err().unwrap();
        assert!(e.to_string().contains("not a VL53L0X"), "{e}");
        assert_eq!(e.kind(), ErrorKind::Fault);
        mock.done();

        let mut mock = Mock::new(&[Transaction::write_read(0x29, vec![0xC0], vec![0])
            .with_error(I2cKind::NoAcknowledge(NoAcknowledgeSource::Address))]);
        let e = Vl53l0xChip::new(mock.clone(), 0x29).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Disconnected);
        mock.done();
    }
}
