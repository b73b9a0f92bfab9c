//! The embedding graph on tract: `input_ids [1, T] -> embedding [384]`,
//! optimized and planned once at load with the symbolic length `T`; a plan
//! run takes `&self`, so the embedder needs no lock. Value infos in the file
//! are ignored (exporters write stale ones for dynamic axes) and the output
//! is found by name.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::{EmbedError, EMBED_DIM};

fn model_err(e: TractError) -> EmbedError {
    EmbedError::Model { reason: format!("{e:#}") }
}

/// The planned graph and the position of its `embedding` output.
pub(crate) struct EmbedModel {
    plan: Arc<TypedRunnableModel>,
    output: usize,
}

impl EmbedModel {
    pub(crate) fn load(onnx_bytes: &[u8]) -> Result<EmbedModel, EmbedError> {
        let mut m =
            tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut &onnx_bytes[..]).map_err(model_err)?;
        let t = m.symbols.sym("T");
        let inputs = m.input_outlets().map_err(model_err)?.to_vec();
        let name_of = |m: &InferenceModel, o: OutletId| {
            m.outlet_label(o).map(str::to_string).unwrap_or_else(|| m.node(o.node).name.clone())
        };
        if inputs.len() != 1 || name_of(&m, inputs[0]) != "input_ids" {
            return Err(EmbedError::Model { reason: "must have exactly one input, `input_ids`".into() });
        }
        m.set_input_fact(0, InferenceFact::dt_shape(i64::datum_type(), vec![1.to_dim(), t.to_dim()]))
            .map_err(model_err)?;
        let names: Vec<String> = m.output_outlets().map_err(model_err)?.iter().map(|&o| name_of(&m, o)).collect();
        let output = names.iter().position(|n| n == "embedding").ok_or_else(|| EmbedError::Model {
            reason: format!("has no output `embedding` (it has {})", names.join(", ")),
        })?;
        let plan = m.into_optimized().and_then(|m| m.into_runnable()).map_err(model_err)?;
        Ok(EmbedModel { plan, output })
    }

    /// The embedding of one tokenized text.
    pub(crate) fn run(&self, ids: &[i64]) -> Result<Vec<f32>, EmbedError> {
        let input = Tensor::from_shape(&[1, ids.len()], ids).map_err(model_err)?;
        let out = self.plan.run(tvec![input.into_tvalue()]).map_err(model_err)?;
        let v = out
            .get(self.output)
            .ok_or_else(|| EmbedError::Output { reason: format!("the graph gave {} outputs", out.len()) })?;
        let values = v
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec))
            .map_err(|e| EmbedError::Output { reason: format!("{e:#}") })?;
        if values.len() != EMBED_DIM {
            return Err(EmbedError::Output { reason: format!("{} values, expected {EMBED_DIM}", values.len()) });
        }
        Ok(values)
    }
}
