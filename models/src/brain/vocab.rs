//! `vocab.json`: the decoder's output vocabulary, the constants its `const:V`
//! tokens stand for, and the model dimensions the tract graphs are shaped by
//! (FORMAT.md). Read once at load and checked, so a vocabulary from another
//! format version or with a broken token fails with a clear error instead of
//! a wrong plan.

use std::collections::HashMap;

use serde::Deserialize;

use super::BrainError;

/// The only `format` this code reads.
pub const FORMAT_VERSION: u32 = 1;

/// The output vocabulary and model dimensions.
#[derive(Debug, Clone)]
pub struct Vocab {
    /// Output tokens; id `i < V` is `tokens[i]`.
    pub tokens: Vec<String>,
    /// Tool names the brain was trained on.
    pub tools: Vec<String>,
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub head_dim: usize,
    /// Most steps one plan may have.
    pub max_steps: usize,
    /// Longest input, in tokens including `[CLS]` and `[SEP]`.
    pub max_input_tokens: usize,
    /// The board file the brain was trained for (informational).
    pub board: String,
    /// Ids of the grammar's fixed tokens.
    pub special: Special,
    index: HashMap<String, usize>,
    /// `(id, value)` of every `const:V` token.
    constants: Vec<(usize, f64)>,
}

/// Ids of the tokens every vocabulary has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Special {
    pub bos: usize,
    pub eos: usize,
    pub unsupported: usize,
    pub ptr: usize,
    pub none: usize,
    pub pos: usize,
    pub neg: usize,
}

#[derive(Deserialize)]
struct Raw {
    format: u32,
    tokens: Vec<String>,
    #[serde(default)]
    constants: Vec<f64>,
    #[serde(default)]
    tools: Vec<String>,
    d_model: usize,
    layers: usize,
    heads: usize,
    head_dim: usize,
    max_steps: usize,
    max_input_tokens: usize,
    #[serde(default)]
    board: String,
}

fn bad(reason: impl Into<String>) -> BrainError {
    BrainError::Vocab { reason: reason.into() }
}

impl Vocab {
    /// Parses and checks `vocab.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Vocab, BrainError> {
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid vocab JSON: {e}")))?;
        if raw.format != FORMAT_VERSION {
            return Err(bad(format!("format {} is not the supported format {FORMAT_VERSION}", raw.format)));
        }
        for (name, v) in [
            ("d_model", raw.d_model),
            ("layers", raw.layers),
            ("heads", raw.heads),
            ("head_dim", raw.head_dim),
            ("max_steps", raw.max_steps),
        ] {
            if v == 0 {
                return Err(bad(format!("`{name}` must be positive")));
            }
        }
        // [CLS] and [SEP] alone take two tokens; a limit below three admits nothing.
        if raw.max_input_tokens < 3 {
            return Err(bad("`max_input_tokens` must be at least 3"));
        }
        let mut index = HashMap::with_capacity(raw.tokens.len());
        for (i, t) in raw.tokens.iter().enumerate() {
            if index.insert(t.clone(), i).is_some() {
                return Err(bad(format!("token `{t}` appears twice")));
            }
        }
        let id = |name: &str| index.get(name).copied().ok_or_else(|| bad(format!("the token `{name}` is missing")));
        let special = Special {
            bos: id("<bos>")?,
            eos: id("<eos>")?,
            unsupported: id("<unsupported>")?,
            ptr: id("<ptr>")?,
            none: id("none")?,
            pos: id("pos")?,
            neg: id("neg")?,
        };
        let mut constants = Vec::new();
        for (i, t) in raw.tokens.iter().enumerate() {
            if let Some(v) = t.strip_prefix("const:") {
                let value: f64 = v.parse().map_err(|_| bad(format!("`{t}` is not a number constant")))?;
                if !value.is_finite() {
                    return Err(bad(format!("`{t}` is not a finite constant")));
                }
                constants.push((i, value));
            }
        }
        // The list is written from the same tokens; a disagreement means the
        // file was edited by hand or by a different exporter.
        let listed_ok = raw.constants.len() == constants.len()
            && raw.constants.iter().zip(&constants).all(|(a, (_, b))| (a - b).abs() <= 1e-9 * b.abs().max(1.0));
        if !raw.constants.is_empty() && !listed_ok {
            return Err(bad("`constants` does not list the values of the `const:` tokens in order"));
        }
        Ok(Vocab {
            tokens: raw.tokens,
            tools: raw.tools,
            d_model: raw.d_model,
            layers: raw.layers,
            heads: raw.heads,
            head_dim: raw.head_dim,
            max_steps: raw.max_steps,
            max_input_tokens: raw.max_input_tokens,
            board: raw.board,
            special,
            index,
            constants,
        })
    }

    /// `V`: the number of vocabulary outputs (pointers come after them).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of a token, if the vocabulary has it.
    pub fn id(&self, token: &str) -> Option<usize> {
        self.index.get(token).copied()
    }

    /// `(id, value)` of every `const:V` token, in vocabulary order.
    pub fn constants(&self) -> &[(usize, f64)] {
        &self.constants
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(extra_tokens: &[&str], constants: &str) -> String {
        let mut toks = vec!["<pad>", "<bos>", "<eos>", "<unsupported>", "<ptr>", "none", "pos", "neg"];
        toks.extend_from_slice(extra_tokens);
        format!(
            r#"{{"format": 1, "tokens": {}, "constants": {constants}, "tools": ["drive"],
               "d_model": 8, "layers": 1, "heads": 2, "head_dim": 4, "max_steps": 5,
               "max_input_tokens": 16, "board": "boards/sim-rover.toml"}}"#,
            serde_json::to_string(&toks).unwrap()
        )
    }

    #[test]
    fn reads_tokens_constants_and_dimensions() {
        let v = Vocab::from_json(json(&["tool:drive", "const:1", "const:0.2"], "[1.0, 0.2]").as_bytes()).unwrap();
        assert_eq!(v.len(), 11);
        assert_eq!(v.special.eos, 2);
        assert_eq!(v.special.neg, 7);
        assert_eq!(v.id("tool:drive"), Some(8));
        assert_eq!(v.constants(), &[(9, 1.0), (10, 0.2)]);
        assert_eq!((v.layers, v.heads, v.head_dim, v.d_model), (1, 2, 4, 8));
    }

    #[test]
    fn refuses_broken_vocabularies() {
        let cases = [
            json(&["const:abc"], "[]"),
            json(&["const:1"], "[2.0]"),
            json(&["tool:drive", "tool:drive"], "[]"),
            json(&[], "[]").replace("\"format\": 1", "\"format\": 2"),
            json(&[], "[]").replace("\"<eos>\",", ""),
            json(&[], "[]").replace("\"layers\": 1", "\"layers\": 0"),
            "not json".to_string(),
        ];
        for c in cases {
            assert!(matches!(Vocab::from_json(c.as_bytes()), Err(BrainError::Vocab { .. })), "{c}");
        }
    }
}
