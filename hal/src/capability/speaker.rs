//! Speech output (a TTS engine, or a text log on robots without a speaker).

use crate::ErrorType;

pub trait Speaker: ErrorType {
    /// Speak the text. Returns when the utterance was queued, not when it ends.
    fn say(&mut self, text: &str) -> Result<(), Self::Error>;
}

impl<T: Speaker + ?Sized> Speaker for &mut T {
    fn say(&mut self, text: &str) -> Result<(), Self::Error> {
        (**self).say(text)
    }
}
