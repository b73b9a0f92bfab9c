//! One I2C bus shared by several sensor drivers.
//!
//! Each driver owns its bus handle (that is how embedded-hal drivers are
//! written), and the battery monitor, IMU and range sensor are held as
//! separate devices, possibly used from different threads. [`SharedI2c`]
//! is a cloneable handle whose every transaction holds the bus mutex, so
//! transfers of different drivers never interleave.

use std::sync::{Arc, Mutex};

use embedded_hal::i2c::{ErrorType, I2c, Operation};

/// A cloneable handle to a bus `B`.
#[derive(Debug)]
pub struct SharedI2c<B>(Arc<Mutex<B>>);

impl<B> SharedI2c<B> {
    pub fn new(bus: B) -> Self {
        Self(Arc::new(Mutex::new(bus)))
    }
}

impl<B> Clone for SharedI2c<B> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<B: ErrorType> ErrorType for SharedI2c<B> {
    type Error = B::Error;
}

impl<B> SharedI2c<B> {
    fn bus(&self) -> std::sync::MutexGuard<'_, B> {
        // A poisoned lock means a driver panicked mid-transfer; the bus itself is still usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Every method forwards, so a bus with faster single transfers keeps them.
impl<B: I2c> I2c for SharedI2c<B> {
    fn read(&mut self, address: u8, read: &mut [u8]) -> Result<(), Self::Error> {
        self.bus().read(address, read)
    }
    fn write(&mut self, address: u8, write: &[u8]) -> Result<(), Self::Error> {
        self.bus().write(address, write)
    }
    fn write_read(&mut self, address: u8, write: &[u8], read: &mut [u8]) -> Result<(), Self::Error> {
        self.bus().write_read(address, write, read)
    }
    fn transaction(&mut self, address: u8, operations: &mut [Operation<'_>]) -> Result<(), Self::Error> {
        self.bus().transaction(address, operations)
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    use super::*;

    #[test]
    fn clones_share_one_bus_in_order() {
        let mock = Mock::new(&[Transaction::write(0x40, vec![1]), Transaction::write_read(0x28, vec![2], vec![3])]);
        let mut a = SharedI2c::new(mock.clone());
        let mut b = a.clone();
        a.write(0x40, &[1]).unwrap();
        let mut buf = [0];
        b.write_read(0x28, &[2], &mut buf).unwrap();
        assert_eq!(buf, [3]);
        mock.clone().done();
    }
}
