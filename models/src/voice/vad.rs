//! Voice activity detection: the Silero VAD (v6, from the PyPI package
//! `silero-vad`) on tract, one speech probability per 32 ms chunk.
//!
//! The package ships several ONNX exports; `models/vad/MODEL_CARD.md` says
//! which one is committed and why (the export without `If` nodes, with a
//! fixed `[1, 576]` input and an ONNX `LSTM`, its duplicate node names made
//! unique so tract loads it; it matches onnxruntime to 1e-6). The model is recurrent and also sees the last 64
//! samples of the previous chunk, so [`Vad`] keeps both between calls, as
//! silero-vad's own `OnnxWrapper` does; [`Vad::reset`] starts a new stream.
//! The graph is checked against `manifest.json` (size and sha256) and planned
//! once at load; a chunk then only runs, on the calling thread.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::{VoiceError, CHUNK_SAMPLES};
use crate::manifest::Manifest;

/// The graph's file name in the VAD folder.
pub const VAD_ONNX: &str = "silero_vad_16k.onnx";
/// Samples of the previous chunk the model sees before each new one.
pub const CONTEXT_SAMPLES: usize = 64;
const STATE_SHAPE: [usize; 3] = [2, 1, 128];

/// The streaming voice activity detector.
pub struct Vad {
    plan: Arc<TypedRunnableModel>,
    /// Index among the graph's inputs of `input` and `state`.
    in_pos: [usize; 2],
    /// Index among the graph's outputs of `output` and `stateN`.
    out_pos: [usize; 2],
    state: Tensor,
    zero_state: Tensor,
    /// The model's input: context followed by the current chunk.
    window: Vec<f32>,
}

impl std::fmt::Debug for Vad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vad").finish_non_exhaustive()
    }
}

fn model_err(e: TractError) -> VoiceError {
    VoiceError::Model { what: VAD_ONNX.into(), reason: format!("{e:#}") }
}

fn name_positions(names: &[String], want: [&str; 2], side: &str) -> Result<[usize; 2], VoiceError> {
    let mut out = [0; 2];
    for (slot, w) in out.iter_mut().zip(want) {
        *slot = names.iter().position(|n| n == w).ok_or_else(|| VoiceError::Model {
            what: VAD_ONNX.into(),
            reason: format!("has no {side} `{w}` (it has {})", names.join(", ")),
        })?;
    }
    Ok(out)
}

impl Vad {
    /// Loads, verifies and plans the model in `dir` (normally `models/vad`).
    pub fn load(dir: &Path) -> Result<Vad, VoiceError> {
        Vad::from_onnx(&Manifest::load(dir)?.read_verified(VAD_ONNX)?)
    }

    /// Plans a model from its ONNX bytes (already verified by the caller).
    pub fn from_onnx(onnx: &[u8]) -> Result<Vad, VoiceError> {
        let mut model = tract_onnx::onnx().model_for_read(&mut &onnx[..]).map_err(model_err)?;
        let label = |m: &InferenceModel, o: OutletId| {
            m.outlet_label(o).map(str::to_string).unwrap_or_else(|| m.node(o.node).name.clone())
        };
        let inputs: Vec<String> = model.input_outlets().map_err(model_err)?.iter().map(|&o| label(&model, o)).collect();
        let outputs: Vec<String> =
            model.output_outlets().map_err(model_err)?.iter().map(|&o| label(&model, o)).collect();
        if inputs.len() != 2 || outputs.len() != 2 {
            return Err(VoiceError::Model {
                what: VAD_ONNX.into(),
                reason: format!(
                    "expected inputs (input, state) and outputs (output, stateN), found ({}) and ({})",
                    inputs.join(", "),
                    outputs.join(", ")
                ),
            });
        }
        let in_pos = name_positions(&inputs, ["input", "state"], "input")?;
        let out_pos = name_positions(&outputs, ["output", "stateN"], "output")?;
        model
            .set_input_fact(in_pos[0], InferenceFact::dt_shape(f32::datum_type(), [1, CONTEXT_SAMPLES + CHUNK_SAMPLES]))
            .map_err(model_err)?;
        model.set_input_fact(in_pos[1], InferenceFact::dt_shape(f32::datum_type(), STATE_SHAPE)).map_err(model_err)?;
        let plan = model.into_optimized().and_then(|m| m.into_runnable()).map_err(model_err)?;
        let zero_state = Tensor::zero::<f32>(&STATE_SHAPE).map_err(model_err)?;
        Ok(Vad {
            plan,
            in_pos,
            out_pos,
            state: zero_state.clone(),
            zero_state,
            window: vec![0.0; CONTEXT_SAMPLES + CHUNK_SAMPLES],
        })
    }

    /// Forgets the recurrent state and context: the next chunk starts a new
    /// stream, as after silence of unknown length.
    pub fn reset(&mut self) {
        self.window.iter_mut().for_each(|s| *s = 0.0);
        self.state = self.zero_state.clone();
    }

    /// The speech probability of the next [`CHUNK_SAMPLES`] samples of a
    /// 16 kHz mono stream (32 ms), in `[0, 1]`.
    pub fn process(&mut self, chunk: &[f32]) -> Result<f32, VoiceError> {
        if chunk.len() != CHUNK_SAMPLES {
            return Err(VoiceError::ChunkSize { expected: CHUNK_SAMPLES, actual: chunk.len() });
        }
        // The model saw the previous chunk's tail as context: slide it down.
        self.window.copy_within(CHUNK_SAMPLES.., 0);
        self.window[CONTEXT_SAMPLES..].copy_from_slice(chunk);
        let input = Tensor::from_shape(&[1, CONTEXT_SAMPLES + CHUNK_SAMPLES], &self.window).map_err(model_err)?;
        let mut feed: [Option<TValue>; 2] = [None, None];
        feed[self.in_pos[0]] = Some(input.into_tvalue());
        feed[self.in_pos[1]] = Some(self.state.clone().into_tvalue());
        let feed: TVec<TValue> = feed.into_iter().flatten().collect();
        let out = self.plan.run(feed).map_err(model_err)?;
        let get = |i: usize| {
            out.get(i).ok_or_else(|| VoiceError::Model {
                what: VAD_ONNX.into(),
                reason: format!("the graph gave {} outputs", out.len()),
            })
        };
        let prob = get(self.out_pos[0])?
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>().map(|s| s.first().copied()))
            .map_err(model_err)?
            .ok_or_else(|| VoiceError::Model { what: VAD_ONNX.into(), reason: "empty `output`".into() })?;
        let next = get(self.out_pos[1])?.clone().into_tensor();
        if next.shape() != STATE_SHAPE {
            return Err(VoiceError::Model {
                what: VAD_ONNX.into(),
                reason: format!("`stateN` has shape {:?}, expected {STATE_SHAPE:?}", next.shape()),
            });
        }
        self.state = next;
        // NaN from a garbage input must not read as speech downstream.
        Ok(if prob.is_finite() { prob.clamp(0.0, 1.0) } else { 0.0 })
    }
}
