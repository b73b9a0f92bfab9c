//! The front of the voice path (issue 6): audio in, utterances out. Audio
//! comes from a WAV file ([`wav`]) or a live microphone through a lock-free
//! ring ([`ring`]), is resampled to 16 kHz mono ([`resample`]), scored every
//! 32 ms by the Silero voice activity detector on tract ([`vad`]), and cut
//! into utterances by an end-of-speech state machine ([`endpoint`]).
//! [`Listener`] ties the last two together over a stream and keeps only the
//! audio a future utterance may still need; [`load_utterances`] runs it over
//! a file and is what `robot plan --audio` calls before speech recognition.
//! Behind them: speech to text ([`stt`], [`asr`], [`wyoming`]) and
//! [`agreement`], which plans the recognizer's runner-up readings too and
//! withholds a plan they disagree on.

pub mod agreement;
pub mod asr;
pub mod ctc;
pub mod endpoint;
pub mod lm;
pub mod resample;
pub mod ring;
pub mod stt;
pub mod vad;
pub mod wav;
pub mod wer;
pub mod wyoming;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

pub use agreement::{understand, AgreementConfig, Rival, Understood};
pub use endpoint::{Bounds, EndpointConfig, EndpointEvent, Endpointer};
pub use resample::Resampler16k;
pub use ring::{mic_ring, MicConsumer, MicProducer};
pub use stt::{Alternative, Bias, SpeechToText, Transcript};
pub use vad::Vad;
pub use wav::{read_wav_16k, WavInfo, WavLimits, WavStream};

/// The rate of everything after input: VAD, endpoints, speech recognition.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per VAD decision (32 ms), the only size Silero takes at 16 kHz.
pub const CHUNK_SAMPLES: usize = 512;

/// What can go wrong on the voice path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VoiceError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: not a WAV file ({reason})")]
    NotWav { path: PathBuf, reason: String },
    #[error("{path}: unsupported audio ({reason})")]
    UnsupportedEncoding { path: PathBuf, reason: String },
    #[error("unsupported sample rate {rate} Hz (need {min}..={max})")]
    UnsupportedRate { rate: u32, min: u32, max: u32 },
    #[error("{path}: no audio (zero samples)")]
    NoAudio { path: PathBuf },
    #[error("{path}: truncated: {frames_read} of {frames_declared} frames present")]
    Truncated { path: PathBuf, frames_read: u64, frames_declared: u64 },
    #[error("{path}: {seconds:.0} s of audio, longer than the {max_seconds} s limit")]
    TooLong { path: PathBuf, seconds: f64, max_seconds: u32 },
    #[error("resampling failed: {reason}")]
    Resample { reason: String },
    #[error("{path}: bad manifest: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error("{path}: does not match the manifest: {reason}")]
    Integrity { path: PathBuf, reason: String },
    #[error("{what}: {reason}")]
    Model { what: String, reason: String },
    #[error("VAD takes chunks of {expected} samples, got {actual}")]
    ChunkSize { expected: usize, actual: usize },
    #[error("bad voice configuration: {reason}")]
    Config { reason: String },
    #[error("Wyoming speech-to-text server {addr}: {source}")]
    Wyoming { addr: String, source: wyoming::WyomingError },
}

/// One utterance cut out of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// First sample (16 kHz, from the start of the stream), pre-roll included.
    pub start: u64,
    /// One past the last sample, post-roll included.
    pub end: u64,
    /// The audio of `start..end`, 16 kHz mono.
    pub samples: Vec<f32>,
}

impl Segment {
    pub fn start_seconds(&self) -> f64 {
        self.start as f64 / f64::from(SAMPLE_RATE)
    }
    pub fn end_seconds(&self) -> f64 {
        self.end as f64 / f64::from(SAMPLE_RATE)
    }
}

/// VAD + endpointer over a 16 kHz stream fed in blocks of any length,
/// keeping the recent audio needed to cut segments (bounded by
/// [`EndpointConfig::max_history_samples`]).
#[derive(Debug)]
pub struct Listener {
    vad: Vad,
    endpointer: Endpointer,
    /// Samples not yet a whole chunk.
    pending: Vec<f32>,
    /// Audio from sample `history_start` on.
    history: VecDeque<f32>,
    history_start: u64,
    /// The last chunk's speech probability (for a live loop's level display).
    last_prob: f32,
}

impl Listener {
    /// A listener at the start of a stream.
    pub fn new(vad: Vad, cfg: EndpointConfig) -> Result<Listener, VoiceError> {
        let endpointer = Endpointer::new(cfg)?;
        let cap = usize::try_from(endpointer.config().max_history_samples()).unwrap_or(usize::MAX);
        Ok(Listener {
            vad,
            endpointer,
            pending: Vec::with_capacity(CHUNK_SAMPLES),
            history: VecDeque::with_capacity(cap.min(1 << 20)),
            history_start: 0,
            last_prob: 0.0,
        })
    }

    /// Speech probability of the last whole chunk.
    pub fn last_prob(&self) -> f32 {
        self.last_prob
    }

    /// Back to the start of a stream, with the VAD's state cleared.
    pub fn reset(&mut self) {
        self.vad.reset();
        self.endpointer.reset();
        self.pending.clear();
        self.history.clear();
        self.history_start = 0;
        self.last_prob = 0.0;
    }

    /// Feeds 16 kHz mono samples; appends the endpointer's events (a
    /// `Started` for a live loop's display) to `events` and the utterances
    /// that ended to `segments`.
    pub fn push(
        &mut self,
        samples: &[f32],
        events: &mut Vec<EndpointEvent>,
        segments: &mut Vec<Segment>,
    ) -> Result<(), VoiceError> {
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (CHUNK_SAMPLES - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < CHUNK_SAMPLES {
                break;
            }
            let p = self.vad.process(&self.pending)?;
            self.last_prob = p;
            self.history.extend(self.pending.drain(..));
            if let Some(ev) = self.endpointer.push(p) {
                self.emit(ev, events, segments);
            }
            self.trim();
        }
        Ok(())
    }

    /// Ends the stream: the trailing partial chunk is scored zero-padded and
    /// an utterance still open is reported. The listener is then reset.
    pub fn finish(&mut self, events: &mut Vec<EndpointEvent>, segments: &mut Vec<Segment>) -> Result<(), VoiceError> {
        if !self.pending.is_empty() {
            let real = self.pending.len();
            self.pending.resize(CHUNK_SAMPLES, 0.0);
            let p = self.vad.process(&self.pending)?;
            // The padding is not audio of the stream: keep only the real part.
            self.history.extend(self.pending.drain(..real));
            self.pending.clear();
            if let Some(ev) = self.endpointer.push(p) {
                self.emit(ev, events, segments);
            }
        }
        if let Some(ev) = self.endpointer.finish() {
            self.emit(ev, events, segments);
        }
        self.reset();
        Ok(())
    }

    fn emit(&self, ev: EndpointEvent, events: &mut Vec<EndpointEvent>, segments: &mut Vec<Segment>) {
        if let EndpointEvent::Ended(b) = ev {
            let stream_end = self.history_start + self.history.len() as u64;
            let (start, end) = (b.start.max(self.history_start), b.end.min(stream_end));
            if start < end {
                let from = (start - self.history_start) as usize;
                let to = (end - self.history_start) as usize;
                segments.push(Segment { start, end, samples: self.history.range(from..to).copied().collect() });
            }
        }
        events.push(ev);
    }

    /// Drops audio no utterance can reach any more.
    fn trim(&mut self) {
        let keep_from = self.endpointer.keep_from();
        if keep_from > self.history_start {
            let n = ((keep_from - self.history_start) as usize).min(self.history.len());
            self.history.drain(..n);
            self.history_start += n as u64;
        }
    }
}

/// Voice input settings for a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VoiceConfig {
    pub wav: WavLimits,
    pub endpoint: EndpointConfig,
}

impl Listener {
    /// The utterances of a WAV file, in order, from a fresh stream state;
    /// empty for silence or noise (no speech is a result, not an error). The
    /// file is streamed block by block: memory is the VAD, one block, the
    /// bounded history and the audio of the segments returned.
    pub fn run_file(&mut self, path: &Path, limits: WavLimits) -> Result<Vec<Segment>, VoiceError> {
        self.reset();
        let mut stream = WavStream::open(path, limits)?;
        let (mut block, mut events, mut segments) = (Vec::new(), Vec::new(), Vec::new());
        while stream.next_block(&mut block)? {
            self.push(&block, &mut events, &mut segments)?;
            block.clear();
            events.clear();
        }
        self.finish(&mut events, &mut segments)?;
        Ok(segments)
    }
}

/// The utterances of the WAV file at `path`, with the VAD in `vad_dir`
/// (normally `models/vad`): what `robot plan --audio` calls. To process
/// many files, keep a [`Listener`] and call [`Listener::run_file`] instead
/// of loading the model each time.
pub fn load_utterances(path: &Path, vad_dir: &Path, cfg: &VoiceConfig) -> Result<Vec<Segment>, VoiceError> {
    Listener::new(Vad::load(vad_dir)?, cfg.endpoint.clone())?.run_file(path, cfg.wav)
}

#[cfg(test)]
mod tests;

impl From<crate::manifest::ManifestError> for VoiceError {
    fn from(e: crate::manifest::ManifestError) -> VoiceError {
        use crate::manifest::ManifestError as M;
        match e {
            M::MissingFile { path } => VoiceError::Io { path, message: "file is missing".into() },
            M::Io { path, message } => VoiceError::Io { path, message },
            M::Invalid { path, reason } => VoiceError::Manifest { path, reason },
            M::SizeMismatch { ref path, .. } | M::HashMismatch { ref path, .. } => {
                VoiceError::Integrity { path: path.clone(), reason: e.to_string() }
            }
        }
    }
}
