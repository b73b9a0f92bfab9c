//! Battery monitor (fuel gauge or voltage divider on an ADC).

use crate::{BatteryState, ErrorType};

pub trait Battery: ErrorType {
    fn state(&mut self) -> Result<BatteryState, Self::Error>;
}

impl<T: Battery + ?Sized> Battery for &mut T {
    fn state(&mut self) -> Result<BatteryState, Self::Error> {
        (**self).state()
    }
}
