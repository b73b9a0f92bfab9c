//! The brain's two ONNX graphs on tract: `encoder.onnx` once per utterance,
//! `decoder.onnx` once per output with its self-attention key/value cache
//! carried between calls (FORMAT.md gives the inputs and outputs).
//!
//! Both graphs are loaded from bytes already checked against the manifest,
//! with symbolic dimensions `T` (input tokens) and `P` (decoded outputs so
//! far), and optimized and planned once at load; a plan then only runs. Value
//! infos in the files are ignored because exporters write stale ones for
//! dynamic axes; the shapes are declared here instead. Inputs and outputs are
//! found by name, so an exporter's order does not matter. Tract runs on the
//! calling thread: on a Raspberry Pi the runtime's other threads (kill-switch
//! monitor, control loop) keep their cores.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::vocab::Vocab;
use super::{BrainError, StepModel};

type Plan = Arc<TypedRunnableModel>;

const ENCODER_OUTPUTS: [&str; 4] = ["cross_k", "cross_v", "ptr_keys", "copy_emb"];
const DECODER_INPUTS: [&str; 9] =
    ["token", "copy_pos", "step", "past_k", "past_v", "cross_k", "cross_v", "ptr_keys", "copy_emb"];
const DECODER_OUTPUTS: [&str; 3] = ["logits", "present_k", "present_v"];

/// The encoder and decoder graphs, ready to run.
pub struct TractModel {
    encoder: Plan,
    decoder: Plan,
    /// Position of each of [`ENCODER_OUTPUTS`] among the encoder's outputs.
    enc_out: [usize; 4],
    /// For each decoder input position, its index in [`DECODER_INPUTS`].
    dec_in: Vec<usize>,
    /// Position of each of [`DECODER_OUTPUTS`] among the decoder's outputs.
    dec_out: [usize; 3],
    cache_shape: [usize; 3],
    /// The encoder's outputs for the current utterance.
    encoded: Option<[TValue; 4]>,
    past_k: TValue,
    past_v: TValue,
}

impl std::fmt::Debug for TractModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TractModel").field("cache_shape", &self.cache_shape).finish_non_exhaustive()
    }
}

fn model_err(what: &str) -> impl Fn(TractError) -> BrainError + '_ {
    move |e| BrainError::Model { what: what.to_string(), reason: format!("{e:#}") }
}

/// Name of an input or output of the graph.
fn outlet_name(m: &InferenceModel, o: OutletId) -> String {
    m.outlet_label(o).map(str::to_string).unwrap_or_else(|| m.node(o.node).name.clone())
}

fn positions<const N: usize>(names: &[String], want: [&str; N], what: &str) -> Result<[usize; N], BrainError> {
    let mut out = [0; N];
    for (slot, w) in out.iter_mut().zip(want) {
        *slot = names.iter().position(|n| n == w).ok_or_else(|| BrainError::Model {
            what: what.to_string(),
            reason: format!("has no output `{w}` (it has {})", names.join(", ")),
        })?;
    }
    Ok(out)
}

impl TractModel {
    /// Loads and plans both graphs; `vocab` gives the cache dimensions.
    pub fn load(encoder_onnx: &[u8], decoder_onnx: &[u8], vocab: &Vocab) -> Result<TractModel, BrainError> {
        let (l, h, dh, d) = (vocab.layers, vocab.heads, vocab.head_dim, vocab.d_model);

        let onnx = tract_onnx::onnx().with_ignore_value_info(true);
        let mut enc = onnx.model_for_read(&mut &encoder_onnx[..]).map_err(model_err("encoder.onnx"))?;
        let t = enc.symbols.sym("T");
        let enc_inputs = enc.input_outlets().map_err(model_err("encoder.onnx"))?.to_vec();
        if enc_inputs.len() != 1 || outlet_name(&enc, enc_inputs[0]) != "input_ids" {
            return Err(BrainError::Model {
                what: "encoder.onnx".into(),
                reason: "must have exactly one input, `input_ids`".into(),
            });
        }
        enc.set_input_fact(0, InferenceFact::dt_shape(i64::datum_type(), vec![1.to_dim(), t.to_dim()]))
            .map_err(model_err("encoder.onnx"))?;
        let enc_names: Vec<String> =
            enc.output_outlets().map_err(model_err("encoder.onnx"))?.iter().map(|&o| outlet_name(&enc, o)).collect();
        let enc_out = positions(&enc_names, ENCODER_OUTPUTS, "encoder.onnx")?;
        let encoder =
            enc.into_optimized().and_then(|m| m.into_runnable()).map_err(model_err("encoder.onnx (optimizing)"))?;

        let mut dec = onnx.model_for_read(&mut &decoder_onnx[..]).map_err(model_err("decoder.onnx"))?;
        let t = dec.symbols.sym("T");
        let p = dec.symbols.sym("P");
        let inputs = dec.input_outlets().map_err(model_err("decoder.onnx"))?.to_vec();
        let mut dec_in = Vec::with_capacity(inputs.len());
        for (i, &o) in inputs.iter().enumerate() {
            let name = outlet_name(&dec, o);
            let k = DECODER_INPUTS.iter().position(|n| *n == name).ok_or_else(|| BrainError::Model {
                what: "decoder.onnx".into(),
                reason: format!("unexpected input `{name}`"),
            })?;
            let fact = match k {
                0..=2 => InferenceFact::dt_shape(i64::datum_type(), vec![1.to_dim()]),
                3 | 4 => {
                    InferenceFact::dt_shape(f32::datum_type(), vec![l.to_dim(), h.to_dim(), p.to_dim(), dh.to_dim()])
                }
                5 | 6 => {
                    InferenceFact::dt_shape(f32::datum_type(), vec![l.to_dim(), h.to_dim(), t.to_dim(), dh.to_dim()])
                }
                _ => InferenceFact::dt_shape(f32::datum_type(), vec![t.to_dim(), d.to_dim()]),
            };
            dec.set_input_fact(i, fact).map_err(model_err("decoder.onnx"))?;
            dec_in.push(k);
        }
        let mut seen = dec_in.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != DECODER_INPUTS.len() {
            return Err(BrainError::Model {
                what: "decoder.onnx".into(),
                reason: format!("must have the inputs {}", DECODER_INPUTS.join(", ")),
            });
        }
        let dec_names: Vec<String> =
            dec.output_outlets().map_err(model_err("decoder.onnx"))?.iter().map(|&o| outlet_name(&dec, o)).collect();
        let dec_out = positions(&dec_names, DECODER_OUTPUTS, "decoder.onnx")?;
        let decoder =
            dec.into_optimized().and_then(|m| m.into_runnable()).map_err(model_err("decoder.onnx (optimizing)"))?;

        let empty = Tensor::zero::<f32>(&[l, h, 0, dh]).map_err(model_err("cache"))?.into_tvalue();
        Ok(TractModel {
            encoder,
            decoder,
            enc_out,
            dec_in,
            dec_out,
            cache_shape: [l, h, dh],
            encoded: None,
            past_k: empty.clone(),
            past_v: empty,
        })
    }

    fn empty_cache(&self) -> Result<TValue, BrainError> {
        let [l, h, dh] = self.cache_shape;
        Ok(Tensor::zero::<f32>(&[l, h, 0, dh]).map_err(model_err("cache"))?.into_tvalue())
    }
}

fn scalar(v: i64) -> TValue {
    tensor1(&[v]).into_tvalue()
}

impl StepModel for TractModel {
    fn encode(&mut self, input_ids: &[i64]) -> Result<(), BrainError> {
        let ids = Tensor::from_shape(&[1, input_ids.len()], input_ids).map_err(model_err("input_ids"))?;
        let mut out = self.encoder.run(tvec![ids.into_tvalue()]).map_err(model_err("encoder"))?;
        let mut take = |i: usize| -> Result<TValue, BrainError> {
            out.get_mut(i)
                .map(|v| v.clone())
                .ok_or_else(|| BrainError::ModelOutput { reason: format!("the encoder gave {} outputs", out.len()) })
        };
        let [k, v, p, c] = self.enc_out;
        self.encoded = Some([take(k)?, take(v)?, take(p)?, take(c)?]);
        self.past_k = self.empty_cache()?;
        self.past_v = self.empty_cache()?;
        Ok(())
    }

    fn step(&mut self, token: i64, copy_pos: i64, step: i64) -> Result<Vec<f32>, BrainError> {
        let Some([ck, cv, pk, ce]) = self.encoded.as_ref() else {
            return Err(BrainError::ModelOutput { reason: "decoder step before the encoder ran".into() });
        };
        let by_name = [
            scalar(token),
            scalar(copy_pos),
            scalar(step),
            self.past_k.clone(),
            self.past_v.clone(),
            ck.clone(),
            cv.clone(),
            pk.clone(),
            ce.clone(),
        ];
        let inputs: TVec<TValue> = self.dec_in.iter().map(|&k| by_name[k].clone()).collect();
        let out = self.decoder.run(inputs).map_err(model_err("decoder"))?;
        let get = |i: usize| {
            out.get(i)
                .cloned()
                .ok_or_else(|| BrainError::ModelOutput { reason: format!("the decoder gave {} outputs", out.len()) })
        };
        let [lo, k, v] = self.dec_out;
        let logits = get(lo)?;
        let logits = logits
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec))
            .map_err(model_err("decoder logits"))?;
        self.past_k = get(k)?;
        self.past_v = get(v)?;
        Ok(logits)
    }
}
