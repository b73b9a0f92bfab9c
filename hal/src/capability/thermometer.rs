//! A temperature sensor (board or motor-driver temperature).

use crate::ErrorType;

pub trait Thermometer: ErrorType {
    /// Temperature in degrees Celsius.
    fn celsius(&mut self) -> Result<f64, Self::Error>;
}

impl<T: Thermometer + ?Sized> Thermometer for &mut T {
    fn celsius(&mut self) -> Result<f64, Self::Error> {
        (**self).celsius()
    }
}
