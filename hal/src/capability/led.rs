//! A status LED (RGB).

use crate::{ErrorType, Rgb};

pub trait Led: ErrorType {
    fn set_color(&mut self, color: Rgb) -> Result<(), Self::Error>;
}

impl<T: Led + ?Sized> Led for &mut T {
    fn set_color(&mut self, color: Rgb) -> Result<(), Self::Error> {
        (**self).set_color(color)
    }
}
