//! The seam between an utterance's audio and its words. The robot's own
//! speech model (`asr`) and a Wyoming speech-to-text server on the host
//! (`wyoming`) both implement [`SpeechToText`], so `robot plan --audio`,
//! `robot listen` and `robot eval voice` take either one and never care which.
//! A [`Bias`] carries what the robot expects to hear (the board's tool words,
//! place and object names from memory); an engine that cannot use it (a
//! remote server) ignores it.

use super::VoiceError;

/// Words the decoder should favour: the board's vocabulary and the names the
/// robot has learnt. Lower-case, one entry per word or multi-word phrase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bias {
    /// Words of the board's tool phrasings ("gripper", "forward", ...).
    pub vocabulary: Vec<String>,
    /// Names from memory ("piano room", "red ball"), favoured more strongly.
    pub names: Vec<String>,
}

/// One utterance's recognition result.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// Lower-case words separated by single spaces; empty when nothing was said.
    pub text: String,
    /// The engine's confidence in `[0, 1]`, when it reports one.
    pub confidence: Option<f32>,
    /// Seconds of audio recognised.
    pub audio_seconds: f64,
    /// Wall-clock seconds spent recognising (for the real-time factor).
    pub compute_seconds: f64,
    /// Which engine produced it ("on-device", "wyoming:HOST:PORT").
    pub engine: String,
    /// Other readings of the same audio, best first, when the engine ranks
    /// several (the on-device beam search does; a Wyoming server does not).
    /// The brain may prefer one of them when `text` makes no sense to it.
    pub alternatives: Vec<Alternative>,
}

/// A runner-up transcript of an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// Lower-case words separated by single spaces.
    pub text: String,
    /// Its decoder score minus the best transcript's (natural log, <= 0):
    /// how much less likely the recognizer found it.
    pub score: f32,
}

/// Audio (16 kHz mono floats in [-1, 1], one utterance) to words.
pub trait SpeechToText {
    fn transcribe(&mut self, samples: &[f32], bias: &Bias) -> Result<Transcript, VoiceError>;
}
