//! The robot's own speech recognizer: 16 kHz audio -> Kaldi log-mels
//! ([`crate::kernels::LogMel`]) -> the CTC acoustic model in
//! `models/asr/model.onnx` on tract -> the biased, LM-fused beam search of
//! [`super::ctc`]. [`Recognizer`] implements [`SpeechToText`] as the
//! "on-device" engine, the default of `robot plan --audio`, `robot listen`
//! and `robot eval voice`.
//!
//! The folder's `manifest.json` gives the alphabet, the blank index and the
//! number of mel bins, and lists every file with its size and sha256, which
//! are checked at load. `lm.json` (the word LM, from
//! `models/training/voice/lm.py`) is optional: a folder without it decodes
//! with the bias words alone. The graph is planned once for a symbolic
//! number of frames `T`, so any utterance length runs without re-planning.
//! Audio too short for one output frame, or digital silence, gives an
//! empty transcript; audio longer than [`WINDOW_SECONDS`] is recognised in
//! consecutive windows (attention cost grows with the square of length).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use tract_onnx::prelude::*;

use super::ctc::{greedy, Alphabet, BeamConfig, BeamDecoder, Decoded, LogProbs};
use super::lm::WordLm;
use super::stt::{Alternative, Bias, SpeechToText, Transcript};
use super::{VoiceError, SAMPLE_RATE};
use crate::kernels::{LogMel, LogMelConfig};
use crate::manifest::Manifest;

/// The acoustic model's file name in the ASR folder.
pub const ASR_ONNX: &str = "model.onnx";
/// The word LM's file name in the ASR folder.
pub const LM_JSON: &str = "lm.json";
/// Longest stretch of audio given to the model at once.
pub const WINDOW_SECONDS: u32 = 20;
/// Engine name in transcripts.
pub const ENGINE: &str = "on-device";
/// Peak amplitude below which audio counts as digital silence.
const SILENCE_PEAK: f32 = 1e-4;

/// The fields of `manifest.json` besides `files`.
#[derive(Deserialize)]
struct Fields {
    alphabet: String,
    blank: usize,
    n_mels: usize,
}

fn model_err(e: TractError) -> VoiceError {
    VoiceError::Model { what: ASR_ONNX.into(), reason: format!("{e:#}") }
}

/// Output frames of the model for `t` input frames (two stride-2
/// convolutions of width 3); 0 when too short for one.
pub fn output_frames(t: usize) -> usize {
    let half = |n: usize| if n < 3 { 0 } else { (n - 3) / 2 + 1 };
    half(half(t))
}

/// The on-device speech recognizer.
pub struct Recognizer {
    plan: Arc<TypedRunnableModel>,
    mel: LogMel,
    n_mels: usize,
    alphabet: Alphabet,
    lm: Option<WordLm>,
    config: BeamConfig,
    /// The decoder of the last bias seen (building one extends the lexicon).
    decoder: Option<(Bias, BeamDecoder)>,
    feats: Vec<f32>,
}

impl std::fmt::Debug for Recognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognizer").field("has_lm", &self.lm.is_some()).finish_non_exhaustive()
    }
}

impl Recognizer {
    /// Loads, verifies and plans the model in `dir` (normally `models/asr`).
    pub fn load(dir: &Path) -> Result<Recognizer, VoiceError> {
        let manifest = Manifest::load(dir)?;
        let manifest_path = manifest.path().to_path_buf();
        let fields: Fields = serde_json::from_value(manifest.doc.clone())
            .map_err(|e| VoiceError::Manifest { path: manifest_path.clone(), reason: e.to_string() })?;
        let onnx = manifest.read_verified(ASR_ONNX)?;
        let lm = match manifest.lists(LM_JSON) {
            true => {
                let bytes = manifest.read_verified(LM_JSON)?;
                let text = String::from_utf8(bytes).map_err(|e| VoiceError::Model {
                    what: dir.join(LM_JSON).display().to_string(),
                    reason: e.to_string(),
                })?;
                Some(WordLm::from_json(&text).map_err(|e| VoiceError::Model {
                    what: dir.join(LM_JSON).display().to_string(),
                    reason: e.to_string(),
                })?)
            }
            false => None,
        };
        let alphabet = Alphabet::new(&fields.alphabet, fields.blank)
            .map_err(|e| VoiceError::Manifest { path: manifest_path.clone(), reason: e.to_string() })?;
        Recognizer::from_parts(&onnx, alphabet, fields.n_mels, lm)
    }

    /// Plans a model from its ONNX bytes (already verified by the caller).
    pub fn from_parts(
        onnx: &[u8],
        alphabet: Alphabet,
        n_mels: usize,
        lm: Option<WordLm>,
    ) -> Result<Recognizer, VoiceError> {
        let mel = LogMel::new(LogMelConfig { num_mel_bins: n_mels, ..LogMelConfig::default() })
            .map_err(|e| VoiceError::Config { reason: format!("log-mel frontend: {e}") })?;
        let mut model =
            tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut &onnx[..]).map_err(model_err)?;
        let t = model.symbols.sym("T");
        if model.input_outlets().map_err(model_err)?.len() != 1 {
            return Err(VoiceError::Model { what: ASR_ONNX.into(), reason: "must have one input, `feats`".into() });
        }
        model
            .set_input_fact(
                0,
                InferenceFact::dt_shape(f32::datum_type(), vec![1.to_dim(), t.to_dim(), n_mels.to_dim()]),
            )
            .map_err(model_err)?;
        let plan = model.into_optimized().and_then(|m| m.into_runnable()).map_err(model_err)?;
        Ok(Recognizer {
            plan,
            mel,
            n_mels,
            alphabet,
            lm,
            config: BeamConfig::default(),
            decoder: None,
            feats: Vec::new(),
        })
    }

    /// Whether a word LM was loaded.
    pub fn has_lm(&self) -> bool {
        self.lm.is_some()
    }

    /// The word LM, when loaded.
    pub fn lm(&self) -> Option<&WordLm> {
        self.lm.as_ref()
    }

    pub fn alphabet(&self) -> &Alphabet {
        &self.alphabet
    }

    pub fn beam_config(&self) -> &BeamConfig {
        &self.config
    }

    /// Changes the beam search's knobs (for tuning and benchmarks).
    pub fn set_beam_config(&mut self, config: BeamConfig) {
        self.config = config;
        self.decoder = None;
    }

    /// The model's CTC log-probabilities for one utterance of 16 kHz mono
    /// samples; no frames when it is too short for one output frame.
    pub fn log_probs(&mut self, samples: &[f32]) -> Result<LogProbs, VoiceError> {
        self.mel.reset();
        let mut feats = std::mem::take(&mut self.feats);
        feats.clear();
        // A NaN or infinite sample from a broken source must not poison a frame.
        let clean: Vec<f32> = samples.iter().map(|&s| if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 }).collect();
        let frames = self.mel.compute(&clean, &mut feats);
        let out = self.log_probs_of_features(&feats, frames);
        self.feats = feats;
        out
    }

    /// The model on precomputed log-mels, `frames` rows of `n_mels`.
    pub fn log_probs_of_features(&mut self, feats: &[f32], frames: usize) -> Result<LogProbs, VoiceError> {
        let classes = self.alphabet.classes();
        if output_frames(frames) == 0 {
            return Ok(LogProbs::empty(classes));
        }
        if feats.len() != frames * self.n_mels {
            return Err(VoiceError::Config {
                reason: format!("{} feature values is not {frames} frames of {}", feats.len(), self.n_mels),
            });
        }
        let input = Tensor::from_shape(&[1, frames, self.n_mels], feats).map_err(model_err)?;
        let out = self.plan.run(tvec!(input.into_tvalue())).map_err(model_err)?;
        let logp = out
            .first()
            .ok_or_else(|| VoiceError::Model { what: ASR_ONNX.into(), reason: "no output".into() })?
            .to_plain_array_view::<f32>()
            .map_err(model_err)?;
        let shape = logp.shape().to_vec();
        if shape.len() != 3 || shape[0] != 1 || shape[2] != classes {
            return Err(VoiceError::Model {
                what: ASR_ONNX.into(),
                reason: format!("output shape {shape:?}, expected [1, T', {classes}]"),
            });
        }
        LogProbs::new(shape[1], classes, logp.iter().copied().collect())
            .map_err(|e| VoiceError::Model { what: ASR_ONNX.into(), reason: e.to_string() })
    }

    /// Greedy (best class per frame) transcript, for parity checks.
    pub fn greedy(&self, lp: &LogProbs) -> String {
        greedy(lp, &self.alphabet)
    }

    /// Beam search with the LM and `bias`.
    pub fn decode(&mut self, lp: &LogProbs, bias: &Bias) -> Decoded {
        let best = self.decode_nbest(lp, bias, 1).into_iter().next();
        best.unwrap_or(Decoded::empty(0.0))
    }

    /// Up to `n` distinct transcripts, best first (at least one, maybe empty).
    pub fn decode_nbest(&mut self, lp: &LogProbs, bias: &Bias, n: usize) -> Vec<Decoded> {
        let stale = self.decoder.as_ref().is_none_or(|(b, _)| b != bias);
        if stale {
            let d = BeamDecoder::new(self.config.clone(), self.alphabet.clone(), self.lm.as_ref(), bias);
            self.decoder = Some((bias.clone(), d));
        }
        match &self.decoder {
            Some((_, d)) => d.decode_nbest(lp, n),
            None => vec![Decoded::empty(0.0)],
        }
    }
}

impl SpeechToText for Recognizer {
    fn transcribe(&mut self, samples: &[f32], bias: &Bias) -> Result<Transcript, VoiceError> {
        let started = Instant::now();
        let audio_seconds = samples.len() as f64 / f64::from(SAMPLE_RATE);
        let peak = samples.iter().filter(|s| s.is_finite()).fold(0.0f32, |m, s| m.max(s.abs()));
        let mut texts = Vec::new();
        let mut alternatives = Vec::new();
        let (mut acoustic, mut frames) = (0.0f64, 0usize);
        if peak >= SILENCE_PEAK {
            let windows: Vec<&[f32]> = samples.chunks((WINDOW_SECONDS * SAMPLE_RATE) as usize).collect();
            // Runners-up only for an utterance of one window: across windows
            // they would multiply, and a command is seconds long.
            let n = if windows.len() == 1 { self.config.alternatives.max(1) } else { 1 };
            for window in windows {
                let lp = self.log_probs(window)?;
                let mut ds = self.decode_nbest(&lp, bias, n).into_iter();
                let Some(d) = ds.next() else { continue };
                alternatives.extend(
                    ds.filter(|a| !a.text.is_empty())
                        .map(|a| Alternative { text: a.text, score: (a.score - d.score).min(0.0) }),
                );
                if !d.text.is_empty() {
                    texts.push(d.text);
                }
                if d.acoustic.is_finite() {
                    acoustic += f64::from(d.acoustic);
                    frames += lp.frames();
                }
            }
        }
        let text = texts.join(" ");
        if text.is_empty() {
            alternatives.clear();
        }
        // Mean per-frame probability of the chosen text's alignments.
        let confidence =
            (!text.is_empty() && frames > 0).then(|| (acoustic / frames as f64).exp().clamp(0.0, 1.0) as f32);
        Ok(Transcript {
            text,
            confidence,
            audio_seconds,
            compute_seconds: started.elapsed().as_secs_f64(),
            engine: ENGINE.into(),
            alternatives,
        })
    }
}
