//! Test helpers shared by the brain's unit tests: the sim-rover board's
//! registry, a vocabulary built from it the way `prepare.py` builds one, and
//! a step model that plays back scripted logits.

use robot_hal::board::BoardFile;
use robot_hal::tools::{ArgType, ToolRegistry};

use super::vocab::Vocab;
use super::{BrainError, StepModel};

pub fn rover_registry() -> ToolRegistry {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml");
    BoardFile::load(path).expect("the sim-rover board loads").registry()
}

/// Base tokens, `tool:` and `enum:` tokens in board order, then constants.
pub fn rover_vocab() -> Vocab {
    let reg = rover_registry();
    let mut tokens: Vec<String> =
        ["<pad>", "<bos>", "<eos>", "<unsupported>", "<ptr>", "none", "pos", "neg"].map(String::from).to_vec();
    tokens.extend(reg.names().map(|n| format!("tool:{n}")));
    for t in reg.tools() {
        for a in &t.args {
            if let ArgType::Enum { values } = &a.ty {
                for v in values {
                    let tok = format!("enum:{v}");
                    if !tokens.contains(&tok) {
                        tokens.push(tok);
                    }
                }
            }
        }
    }
    let constants = [1.0, 90.0, -90.0, 0.2, 2.0, 0.5, 0.1, 180.0, -0.2, 15.0, 360.0, 30.0];
    tokens.extend(constants.iter().map(|c| format!("const:{c}")));
    let json = serde_json::json!({
        "format": 1, "tokens": tokens, "constants": constants,
        "tools": reg.names().collect::<Vec<_>>(),
        "d_model": 8, "layers": 1, "heads": 2, "head_dim": 4, "max_steps": 40, "max_input_tokens": 96,
        "board": "boards/sim-rover.toml"
    });
    Vocab::from_json(json.to_string().as_bytes()).expect("the test vocabulary is valid")
}

/// Plays back one list of `(id, logit)` per step over a floor of -10; runs
/// out of script -> error.
pub struct ScriptedModel {
    v: usize,
    t: usize,
    script: Vec<Vec<(usize, f32)>>,
    /// What the decoder was fed: `(token, copy_pos, step)`.
    pub fed: Vec<(i64, i64, i64)>,
}

impl ScriptedModel {
    pub fn new(v: usize, script: Vec<Vec<(usize, f32)>>) -> ScriptedModel {
        ScriptedModel { v, t: 0, script, fed: Vec::new() }
    }
}

impl StepModel for ScriptedModel {
    fn encode(&mut self, input_ids: &[i64]) -> Result<(), BrainError> {
        self.t = input_ids.len();
        self.fed.clear();
        Ok(())
    }

    fn step(&mut self, token: i64, copy_pos: i64, step: i64) -> Result<Vec<f32>, BrainError> {
        let i = self.fed.len();
        self.fed.push((token, copy_pos, step));
        let row = self.script.get(i).ok_or(BrainError::ModelOutput { reason: "script ended".into() })?;
        let mut logits = vec![-10.0; self.v + self.t];
        for &(id, l) in row {
            if let Some(x) = logits.get_mut(id) {
                *x = l;
            }
        }
        Ok(logits)
    }
}
