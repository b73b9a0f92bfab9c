//! Object detection: what is in the camera's field of view.
//!
//! Kept separate from [`crate::capability::Camera`] because detection is a
//! different capability: in the simulator it comes from the world model, on
//! a real robot from a vision model run on the camera's frames.

use crate::{Detection, ErrorType};

pub trait ObjectDetector: ErrorType {
    /// Objects currently in view, nearest first.
    fn detect(&mut self) -> Result<Vec<Detection>, Self::Error>;

    /// Half of the horizontal field of view, degrees.
    fn half_fov_deg(&self) -> f64;
}

impl<T: ObjectDetector + ?Sized> ObjectDetector for &mut T {
    fn detect(&mut self) -> Result<Vec<Detection>, Self::Error> {
        (**self).detect()
    }
    fn half_fov_deg(&self) -> f64 {
        (**self).half_fov_deg()
    }
}
