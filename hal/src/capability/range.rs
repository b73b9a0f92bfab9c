//! Forward-looking range sensor (ultrasonic, ToF, lidar beam).

use crate::ErrorType;

pub trait RangeSensor: ErrorType {
    /// Distance to the nearest obstacle straight ahead, metres. Returns the
    /// sensor's maximum range when nothing is in view.
    fn distance_m(&mut self) -> Result<f64, Self::Error>;

    /// Maximum range the sensor reports, metres.
    fn max_range_m(&self) -> f64;
}

impl<T: RangeSensor + ?Sized> RangeSensor for &mut T {
    fn distance_m(&mut self) -> Result<f64, Self::Error> {
        (**self).distance_m()
    }
    fn max_range_m(&self) -> f64 {
        (**self).max_range_m()
    }
}
