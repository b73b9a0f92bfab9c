//! Battery state from an INA219 power monitor (the `ina219` driver crate).
//!
//! The INA219 measures the battery's voltage on its bus input; the charge
//! is that voltage placed linearly between the board file's empty and full
//! voltages. That is crude for Li-ion under load, but it is monotonic, and
//! the runtime only compares it against `rules.min_battery_for_motion`.
//! The chip is read as the power-on default configuration leaves it
//! (continuous bus and shunt conversion, 32 V range), so no calibration
//! write is needed and a sensor shared with other software is left alone.

use embedded_hal::i2c::I2c;
use ina219::address::Address;
use ina219::calibration::UnCalibrated;
use ina219::errors::BusVoltageReadError;
use ina219::SyncIna219;

use super::error::SensorError;
use crate::capability::Battery;
use crate::{BatteryState, ErrorType};

const DEVICE: &str = "INA219 battery monitor";

/// Charge from the voltage between `empty_v` (0) and `full_v` (1), clamped.
pub fn charge_from_voltage(voltage_v: f64, empty_v: f64, full_v: f64) -> f64 {
    if !(voltage_v.is_finite() && full_v > empty_v) {
        return 0.0;
    }
    ((voltage_v - empty_v) / (full_v - empty_v)).clamp(0.0, 1.0)
}

/// An INA219 on bus `I2C`, read as a [`Battery`].
pub struct Ina219Battery<I2C> {
    chip: SyncIna219<I2C, UnCalibrated>,
    addr: u8,
    empty_v: f64,
    full_v: f64,
}

impl<I2C: I2c> Ina219Battery<I2C> {
    /// A monitor at 7-bit address `addr` (0x40 to 0x4F). Nothing is sent
    /// until the first reading.
    pub fn new(i2c: I2C, addr: u8, empty_v: f64, full_v: f64) -> Result<Self, SensorError> {
        let address = Address::from_byte(addr).map_err(|_| SensorError::Invalid {
            device: DEVICE,
            addr,
            message: "an INA219 answers only at 0x40 to 0x4f".into(),
        })?;
        Ok(Self { chip: SyncIna219::new_unchecked(i2c, address, UnCalibrated), addr, empty_v, full_v })
    }
}

impl<I2C> ErrorType for Ina219Battery<I2C> {
    type Error = SensorError;
}

impl<I2C: I2c> Battery for Ina219Battery<I2C> {
    fn state(&mut self) -> Result<BatteryState, SensorError> {
        let bus = self.chip.bus_voltage().map_err(|e| match e {
            BusVoltageReadError::I2cError(e) => SensorError::i2c(DEVICE, self.addr, &e),
            other => SensorError::Invalid { device: DEVICE, addr: self.addr, message: other.to_string() },
        })?;
        let voltage_v = f64::from(bus.voltage_mv()) / 1000.0;
        Ok(BatteryState { charge: charge_from_voltage(voltage_v, self.empty_v, self.full_v), voltage_v })
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal::i2c::ErrorKind as I2cKind;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    use super::*;
    use crate::{Error as _, ErrorKind};

    /// The bus-voltage register (0x02) holds millivolts / 4 in bits 15..3.
    fn bus_register(mv: u16) -> Vec<u8> {
        ((mv / 4) << 3 | 0b10).to_be_bytes().to_vec()
    }

    #[test]
    fn reads_bus_voltage_as_charge() {
        let mut mock = Mock::new(&[
            Transaction::write_read(0x40, vec![0x02], bus_register(7_800)),
            Transaction::write_read(0x40, vec![0x02], bus_register(5_000)),
        ]);
        let mut b = Ina219Battery::new(mock.clone(), 0x40, 6.0, 8.4).unwrap();
        let s = b.state().unwrap();
        assert_eq!(s.voltage_v, 7.8);
        assert!((s.charge - 0.75).abs() < 1e-9, "{s:?}");
        // Below empty is empty, not negative.
        assert_eq!(b.state().unwrap().charge, 0.0);
        mock.done();
    }

    #[test]
    fn an_absent_chip_is_a_typed_disconnected_error() {
        let mut mock = Mock::new(&[Transaction::write_read(0x41, vec![0x02], vec![0, 0])
            .with_error(I2cKind::NoAcknowledge(embedded_hal::i2c::NoAcknowledgeSource::Address))]);
        let mut b = Ina219Battery::new(mock.clone(), 0x41, 6.0, 8.4).unwrap();
        let e = b.state().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Disconnected);
        assert!(e.to_string().starts_with("INA219 battery monitor at I2C address 0x41: "), "{e}");
        mock.done();
    }

    #[test]
    fn a_bad_address_is_refused() {
        let mut mock = Mock::new(&[]);
        assert!(matches!(Ina219Battery::new(mock.clone(), 0x29, 6.0, 8.4), Err(SensorError::Invalid { .. })));
        mock.done();
        assert_eq!(charge_from_voltage(9.0, 6.0, 8.4), 1.0);
        assert_eq!(charge_from_voltage(f64::NAN, 6.0, 8.4), 0.0);
    }
}
