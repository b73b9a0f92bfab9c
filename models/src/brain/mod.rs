//! The brain: natural language to a program of the board's tools, on the
//! robot, with no network. `models/brain/FORMAT.md` is the contract with the
//! Python training side (`models/training/brain/`); this module follows it.
//!
//! One utterance goes through:
//! 1. [`crate::normalize::normalize`]: numbers and units to digits
//!    in base units, so the model copies them instead of computing them;
//! 2. the MiniLM WordPiece tokenizer ([`tokenize`]); input longer than the
//!    model was trained on is refused here, before any inference;
//! 3. the encoder and then the decoder, one output at a time ([`tract_model`]
//!    on tract, behind the [`StepModel`] trait);
//! 4. greedy decoding ([`decode()`]) under the output grammar ([`grammar`]),
//!    built from the board's [`ToolRegistry`]: the model can only choose
//!    outputs that keep the program valid, so whatever it scores, the plan
//!    passes the registry's validation;
//! 5. a [`PlanResult`]: `ok` with the program and its confidence (the
//!    probability of the chosen sequence), or `unsupported`.
//!
//! [`Brain::load`] reads an asset folder checked against its manifest
//! ([`assets`]); a missing or corrupt file is a typed [`BrainError`], never a
//! panic. Bad input (empty, binary garbage, emoji only, 10 kB of text) gives
//! an `unsupported` result with a reason, quickly.

pub mod assets;
pub mod decode;
pub mod grammar;
pub mod plan;
pub mod tokenize;
pub mod tract_model;
pub mod utterance;
pub mod vocab;

#[cfg(test)]
pub(crate) mod test_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use robot_hal::tools::ToolRegistry;

pub use assets::Assets;
pub use decode::{decode, Decoded, StepModel};
pub use grammar::{Grammar, GrammarState, Outcome};
pub use plan::{PlanResult, PlanStatus};
pub use tokenize::{Encoded, WordPieceTokenizer};
pub use tract_model::TractModel;
pub use utterance::Copyable;
pub use vocab::Vocab;

use crate::normalize::normalize;

/// Longest utterance read at all, in bytes. Anything longer cannot fit the
/// model's input and is refused before normalizing, so a 10 MB paste costs
/// nothing.
pub const MAX_UTTERANCE_BYTES: usize = 4096;

/// Why the brain could not load or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BrainError {
    #[error("{}: file is missing", path.display())]
    MissingFile { path: PathBuf },
    #[error("{}: cannot read: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: invalid manifest: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },
    #[error("{}: {actual} bytes, the manifest says {expected} (truncated or replaced?)", path.display())]
    SizeMismatch { path: PathBuf, expected: u64, actual: u64 },
    #[error("{}: sha256 {actual} does not match the manifest's {expected} (corrupt or from another build)", path.display())]
    HashMismatch { path: PathBuf, expected: String, actual: String },
    #[error("vocab.json: {reason}")]
    Vocab { reason: String },
    #[error("tokenizer.json: {reason}")]
    Tokenizer { reason: String },
    #[error("{what}: {reason}")]
    Model { what: String, reason: String },
    #[error("model output: {reason}")]
    ModelOutput { reason: String },
    /// An output id the grammar does not allow here (a decoding bug).
    #[error("output id {id} is not allowed in grammar state {state}")]
    Grammar { id: usize, state: String },
}

/// Where the time of one plan went.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timing {
    /// Normalizing, tokenizing and the encoder.
    pub encode: Duration,
    /// The decoder steps and grammar.
    pub decode: Duration,
    /// Decoder steps run.
    pub steps: usize,
}

/// A loaded brain for one board.
pub struct Brain {
    vocab: Vocab,
    tokenizer: WordPieceTokenizer,
    grammar: Grammar,
    model: Box<dyn StepModel + Send>,
}

impl std::fmt::Debug for Brain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Brain").field("tokens", &self.vocab.len()).finish_non_exhaustive()
    }
}

impl Brain {
    /// Loads the asset folder `dir` (checked against its manifest) for the
    /// board whose tools are `registry`.
    pub fn load(dir: &Path, registry: &ToolRegistry) -> Result<Brain, BrainError> {
        let assets = Assets::load(dir)?;
        let vocab = Vocab::from_json(&assets.vocab_json)?;
        let tokenizer = WordPieceTokenizer::from_json(&assets.tokenizer_json)?;
        let model = TractModel::load(&assets.encoder_onnx, &assets.decoder_onnx, &vocab)?;
        Ok(Brain::from_parts(vocab, tokenizer, registry, Box::new(model)))
    }

    /// A brain from loaded parts and any step model (tests use fakes).
    pub fn from_parts(
        vocab: Vocab,
        tokenizer: WordPieceTokenizer,
        registry: &ToolRegistry,
        model: Box<dyn StepModel + Send>,
    ) -> Brain {
        let grammar = Grammar::new(&vocab, registry);
        Brain { vocab, tokenizer, grammar, model }
    }

    /// The output vocabulary and model dimensions.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Board tools the brain has no token for, so it can never plan them.
    pub fn untrained_tools(&self) -> &[String] {
        &self.grammar.untrained_tools
    }

    /// Plans one utterance.
    pub fn plan(&mut self, utterance: &str) -> Result<PlanResult, BrainError> {
        self.plan_timed(utterance).map(|(r, _)| r)
    }

    /// Plans one utterance and says where the time went.
    pub fn plan_timed(&mut self, utterance: &str) -> Result<(PlanResult, Timing), BrainError> {
        let started = Instant::now();
        let refuse = |why: &str, started: Instant| {
            let timing = Timing { encode: started.elapsed(), ..Timing::default() };
            Ok((PlanResult::unsupported(utterance, 1.0, Some(why.to_string())), timing))
        };
        if utterance.len() > MAX_UTTERANCE_BYTES {
            return refuse("too long", started);
        }
        let norm = normalize(utterance);
        if !norm.text.chars().any(char::is_alphanumeric) {
            return refuse("nothing to plan: no words", started);
        }
        let enc = self.tokenizer.encode(&norm.text)?;
        if enc.len() > self.vocab.max_input_tokens {
            return refuse("too long", started);
        }
        if enc.unknown + 2 == enc.len() {
            return refuse("no words the brain knows", started);
        }
        let copy = Copyable::new(utterance, &norm, &enc);
        self.model.encode(&enc.ids)?;
        let encoded = Instant::now();
        let sp = self.vocab.special;
        let state = self.grammar.start(&copy);
        let d = decode(self.model.as_mut(), &enc.ids, sp.bos, sp.ptr, state, self.vocab.len())?;
        let timing = Timing { encode: encoded - started, decode: encoded.elapsed(), steps: d.ids.len() };
        let result = match d.outcome {
            Outcome::Unsupported => PlanResult::unsupported(utterance, d.confidence(), None),
            Outcome::Program(ref p) => PlanResult::ok(utterance, p.clone(), d.confidence()),
        };
        Ok((result, timing))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{rover_registry, rover_vocab, ScriptedModel};
    use super::tokenize::fixture;
    use super::*;

    fn brain(script: Vec<Vec<(usize, f32)>>) -> Brain {
        let vocab = rover_vocab();
        let tok = WordPieceTokenizer::from_json(fixture::tokenizer_json().as_bytes()).unwrap();
        let model = ScriptedModel::new(vocab.len(), script);
        Brain::from_parts(vocab, tok, &rover_registry(), Box::new(model))
    }

    #[test]
    fn plans_through_the_whole_pipeline() {
        let v = rover_vocab();
        let script = vec![
            vec![(v.id("tool:say").unwrap(), 5.0)],
            // "say hello world": hello is token 2, world token 3.
            vec![(v.len() + 2, 5.0)],
            vec![(v.len() + 3, 5.0)],
            vec![(v.special.eos, 5.0)],
        ];
        let mut b = brain(script);
        let (r, t) = b.plan_timed("Say \u{201c}hello world\u{201d}").unwrap();
        assert_eq!(r.status, PlanStatus::Ok);
        assert_eq!(r.program_text(), r#"say(text="hello world")"#);
        assert!(r.confidence > 0.0 && r.confidence <= 1.0);
        assert_eq!(t.steps, 4);
    }

    #[test]
    fn bad_input_is_unsupported_before_the_model() {
        // The scripted model has no script: running it would be an error.
        let mut b = brain(vec![]);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "nothing to plan: no words"),
            ("   \n\t ".into(), "nothing to plan: no words"),
            ("🤖🤖🤖 !!!".into(), "nothing to plan: no words"),
            ("\u{0}\u{1}\u{2}\u{fffd}".into(), "nothing to plan: no words"),
            ("drive ".repeat(2000), "too long"),
            ("drive ".repeat(100), "too long"),
            ("zzz qqq".into(), "no words the brain knows"),
        ];
        for (text, why) in cases {
            let t = Instant::now();
            let r = b.plan(&text).unwrap();
            assert_eq!(r.status, PlanStatus::Unsupported, "{text:?}");
            assert_eq!(r.reason.as_deref(), Some(why), "{text:?}");
            assert!(r.program.is_none());
            assert!(t.elapsed() < Duration::from_secs(1));
        }
        let garbage: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let r = b.plan(&String::from_utf8_lossy(&garbage)).unwrap();
        assert_eq!(r.status, PlanStatus::Unsupported);
    }

    #[test]
    fn the_model_may_say_unsupported() {
        let v = rover_vocab();
        let mut b = brain(vec![vec![(v.special.unsupported, 9.0)], vec![(v.special.eos, 1.0)]]);
        let r = b.plan("fly to the moon").unwrap();
        assert_eq!(r.status, PlanStatus::Unsupported);
        assert!(r.reason.is_none());
        assert!(r.confidence > 0.5);
    }
}
