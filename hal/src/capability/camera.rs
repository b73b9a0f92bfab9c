//! A still camera.

use crate::{ErrorType, Frame};

pub trait Camera: ErrorType {
    fn capture(&mut self) -> Result<Frame, Self::Error>;
}

impl<T: Camera + ?Sized> Camera for &mut T {
    fn capture(&mut self) -> Result<Frame, Self::Error> {
        (**self).capture()
    }
}
