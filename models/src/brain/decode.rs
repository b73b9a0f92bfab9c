//! Greedy constrained decoding: the loop between a [`StepModel`] (the
//! decoder network, or a scripted fake in tests) and the [`GrammarState`]
//! that masks its outputs. Each step takes the best allowed id
//! ([`masked_argmax`]) and adds its log-probability under the masked softmax
//! ([`masked_log_softmax`]) to the plan's score, so the confidence is the
//! probability of the whole chosen sequence among grammatical ones.
//!
//! The loop ends when the grammar is done, which it always is after a bounded
//! number of outputs (steps are capped, each step has a fixed number of
//! arguments), so a model that never says `<eos>` cannot make it spin.

use crate::kernels::{masked_argmax, masked_log_softmax};

use super::grammar::{GrammarState, Outcome};
use super::BrainError;

/// One step of the decoder network, with its key/value cache inside.
pub trait StepModel {
    /// Runs the encoder on `[CLS] ... [SEP]` ids and resets the cache.
    fn encode(&mut self, input_ids: &[i64]) -> Result<(), BrainError>;

    /// Feeds the previous output (`token`, and for a pointer `<ptr>` with
    /// the position it pointed at in `copy_pos`) at decoding step `step`
    /// and returns the `V + T` logits of the next output.
    fn step(&mut self, token: i64, copy_pos: i64, step: i64) -> Result<Vec<f32>, BrainError>;
}

/// The result of decoding one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub outcome: Outcome,
    /// Sum of the chosen ids' masked log-probabilities (`-inf` if the model
    /// gave an allowed id no probability).
    pub log_prob: f64,
    /// The chosen output ids, in order.
    pub ids: Vec<usize>,
}

impl Decoded {
    /// `exp(log_prob)`, in `[0, 1]`.
    pub fn confidence(&self) -> f64 {
        self.log_prob.exp().clamp(0.0, 1.0)
    }
}

/// Decodes greedily: `model` has just encoded `input_ids`, `bos`/`ptr` are
/// the ids of `<bos>` and `<ptr>`, `state` a fresh grammar walk for this
/// utterance.
pub fn decode(
    model: &mut dyn StepModel,
    input_ids: &[i64],
    bos: usize,
    ptr: usize,
    mut state: GrammarState<'_>,
    vocab_len: usize,
) -> Result<Decoded, BrainError> {
    let outputs = vocab_len + input_ids.len();
    let mut log_probs = vec![0.0f32; outputs];
    let mut chosen = Vec::new();
    let mut total = 0.0f64;
    let (mut token, mut copy_pos) = (bos, 0usize);
    let mut step = 0i64;
    while !state.is_done() {
        let logits = model.step(to_i64(token), to_i64(copy_pos), step)?;
        if logits.len() != outputs {
            return Err(BrainError::ModelOutput {
                reason: format!("the decoder gave {} logits, expected V + T = {outputs}", logits.len()),
            });
        }
        let allowed = state.allowed();
        masked_log_softmax(&logits, allowed, &mut log_probs)
            .map_err(|e| BrainError::ModelOutput { reason: e.to_string() })?;
        // All-NaN allowed logits leave no argmax: take the first allowed id,
        // so a broken model still ends in a valid (if unlikely) program.
        let id = masked_argmax(&logits, allowed)
            .or_else(|| (0..outputs).find(|&i| allowed.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)))
            .ok_or_else(|| BrainError::ModelOutput { reason: "the grammar allows no output".into() })?;
        total += f64::from(log_probs[id]);
        state.consume(id)?;
        chosen.push(id);
        (token, copy_pos) = match id.checked_sub(vocab_len) {
            Some(pos) => (ptr, pos),
            None => (id, 0),
        };
        step += 1;
    }
    let outcome =
        state.outcome().ok_or_else(|| BrainError::ModelOutput { reason: "decoding did not finish".into() })?;
    Ok(Decoded { outcome, log_prob: total, ids: chosen })
}

fn to_i64(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    use super::super::grammar::Grammar;
    use super::super::test_support::{rover_registry, rover_vocab, ScriptedModel};
    use super::super::tokenize::{fixture, WordPieceTokenizer};
    use super::super::utterance::Copyable;
    use super::*;
    use crate::normalize::normalize;

    /// Logits drawn at random, NaN and infinities included now and then.
    struct RandomModel {
        rng: rand_chacha::ChaCha8Rng,
        outputs: usize,
        v: usize,
        steps: Vec<(i64, i64, i64)>,
    }

    impl StepModel for RandomModel {
        fn encode(&mut self, input_ids: &[i64]) -> Result<(), BrainError> {
            self.outputs = self.v + input_ids.len();
            Ok(())
        }
        fn step(&mut self, token: i64, copy_pos: i64, step: i64) -> Result<Vec<f32>, BrainError> {
            self.steps.push((token, copy_pos, step));
            Ok((0..self.outputs)
                .map(|_| match self.rng.gen_range(0..50) {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    _ => self.rng.gen_range(-20.0..20.0),
                })
                .collect())
        }
    }

    #[test]
    fn follows_the_best_allowed_outputs_and_scores_them() {
        let vocab = rover_vocab();
        let g = Grammar::new(&vocab, &rover_registry());
        let v = vocab.len();
        let tok = WordPieceTokenizer::from_json(fixture::tokenizer_json().as_bytes()).unwrap();
        let text = "turn left 90 degrees";
        let norm = normalize(text);
        let enc = tok.encode(&norm.text).unwrap();
        let copy = Copyable::new(text, &norm, &enc);
        let ninety = copy.quantities[0].pos;
        // The model prefers `<eos>` first (not allowed: ignored), then
        // turn, pos, the pointer to 90, eos.
        let script = vec![
            vec![(vocab.special.eos, 9.0), (vocab.id("tool:turn").unwrap(), 5.0)],
            vec![(vocab.special.pos, 3.0)],
            vec![(v + ninety, 2.0)],
            vec![(vocab.special.eos, 4.0)],
        ];
        let mut m = ScriptedModel::new(v, script);
        m.encode(&enc.ids).unwrap();
        let d = decode(&mut m, &enc.ids, vocab.special.bos, vocab.special.ptr, g.start(&copy), v).unwrap();
        let Outcome::Program(p) = &d.outcome else { panic!() };
        assert_eq!(p.to_string(), "turn(angle_deg=90)");
        // The decoder was fed <bos>, the tool, pos, then <ptr> at 90's position.
        let fed: Vec<(i64, i64, i64)> = m.fed.clone();
        assert_eq!(fed[0], (vocab.special.bos as i64, 0, 0));
        assert_eq!(fed[3], (vocab.special.ptr as i64, ninety as i64, 3));
        assert!(d.confidence() > 0.0 && d.confidence() < 1.0);
        assert_eq!(d.ids.len(), 4);
    }

    #[test]
    fn wrong_sized_logits_are_an_error() {
        let vocab = rover_vocab();
        let g = Grammar::new(&vocab, &rover_registry());
        let copy = Copyable { t: 2, quantities: vec![], spans: vec![vec![], vec![]] };
        let mut m = ScriptedModel::new(vocab.len() + 1, vec![]);
        m.encode(&[1, 2]).unwrap();
        let r = decode(&mut m, &[1, 2], vocab.special.bos, vocab.special.ptr, g.start(&copy), vocab.len());
        assert!(matches!(r, Err(BrainError::ModelOutput { .. })));
    }

    const WORDS: &[&str] = &[
        "drive", "forward", "two", "meters", "turn", "left", "90", "degrees", "go", "to", "the", "kitchen", "say",
        "hello", "world", ",", "!", "and", "then", "wait", "3", "seconds", "find", "red", "ball", "minus", "back",
        "up", "30", "cm", "playing", "balls", "fly", "moon", "寿司", "🤖", "x", "1.5", "-5", "a", "little", "half",
        "minute",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Whatever the logits, the program validates against the board.
        #[test]
        fn random_logits_always_give_a_valid_program(words in proptest::collection::vec(0..WORDS.len(), 0..30),
                                                      seed in any::<u64>()) {
            let vocab = rover_vocab();
            let reg = rover_registry();
            let g = Grammar::new(&vocab, &reg);
            let tok = WordPieceTokenizer::from_json(fixture::tokenizer_json().as_bytes()).unwrap();
            let text = words.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" ");
            let norm = normalize(&text);
            let enc = tok.encode(&norm.text).unwrap();
            let copy = Copyable::new(&text, &norm, &enc);
            let mut m = RandomModel {
                rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed), outputs: 0, v: vocab.len(), steps: vec![],
            };
            m.encode(&enc.ids).unwrap();
            let d = decode(&mut m, &enc.ids, vocab.special.bos, vocab.special.ptr, g.start(&copy), vocab.len()).unwrap();
            match &d.outcome {
                Outcome::Unsupported => prop_assert_eq!(d.ids.len(), 2),
                Outcome::Program(p) => {
                    prop_assert!(reg.validate(p).is_ok(), "{} -> {}: {:?}", text, p, reg.validate(p));
                    prop_assert!(p.calls().len() <= vocab.max_steps);
                    // The printed program parses back to the same program.
                    let back = robot_hal::program::parse(&p.to_string());
                    prop_assert_eq!(back.as_ref().ok(), Some(p), "{}", p);
                }
            }
            prop_assert!((0.0..=1.0).contains(&d.confidence()));
            prop_assert_eq!(m.steps.len(), d.ids.len());
        }
    }
}
