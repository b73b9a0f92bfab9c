//! A one-degree-of-freedom gripper (servo jaws).

use crate::{ErrorType, GripperState};

pub trait Gripper: ErrorType {
    fn open(&mut self) -> Result<(), Self::Error>;
    fn close(&mut self) -> Result<(), Self::Error>;
    /// Jaw position and whether something is held between them.
    fn state(&mut self) -> Result<GripperState, Self::Error>;
}

impl<T: Gripper + ?Sized> Gripper for &mut T {
    fn open(&mut self) -> Result<(), Self::Error> {
        (**self).open()
    }
    fn close(&mut self) -> Result<(), Self::Error> {
        (**self).close()
    }
    fn state(&mut self) -> Result<GripperState, Self::Error> {
        (**self).state()
    }
}
