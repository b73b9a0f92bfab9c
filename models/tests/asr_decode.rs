//! The speech decoder on constructed log-probability matrices (no model
//! needed): greedy CTC collapsing, the beam search choosing a biased word
//! or a multi-word name over an acoustically likelier near-miss, the word
//! LM pulling toward known word sequences, a left-out word boundary put
//! back between lexicon words, a long run-on off the lexicon paying by
//! its length, its smoothing summing to one, the runner-up transcripts
//! distinct and ranked,
//! and malformed LM files refused with typed errors.

use robot_models::voice::ctc::{greedy, Alphabet, BeamConfig, BeamDecoder, CtcError, LogProbs};
use robot_models::voice::lm::{LmError, WordLm, BOS, EOS};
use robot_models::voice::Bias;

const ALPHABET: &str = " 'abcdefghijklmnopqrstuvwxyz";

fn alphabet() -> Alphabet {
    Alphabet::new(ALPHABET, 0).unwrap()
}

fn class(ch: char) -> usize {
    if ch == '_' {
        0
    } else {
        1 + ALPHABET.find(ch).unwrap()
    }
}

/// One frame per entry: `(char, prob)` pairs (`_` is blank); the rest of
/// the mass is spread evenly over the other classes.
fn matrix(frames: &[&[(char, f32)]]) -> LogProbs {
    let n = ALPHABET.len() + 1;
    let mut data = Vec::new();
    for f in frames {
        let used: f32 = f.iter().map(|p| p.1).sum();
        let rest = ((1.0 - used).max(1e-3)) / (n - f.len()) as f32;
        let mut row = vec![rest; n];
        for &(c, p) in f.iter() {
            row[class(c)] = p;
        }
        data.extend(row.iter().map(|p| p.ln()));
    }
    LogProbs::new(frames.len(), n, data).unwrap()
}

/// Frames spelling `text` clearly, a blank after each character.
fn clear(text: &str) -> Vec<Vec<(char, f32)>> {
    text.chars().flat_map(|c| [vec![(c, 0.97)], vec![('_', 0.97)]]).collect()
}

fn refs(v: &[Vec<(char, f32)>]) -> Vec<&[(char, f32)]> {
    v.iter().map(Vec::as_slice).collect()
}

/// "close the grip" then p, (p 0.6 | blank 0.4), p, "er": acoustically
/// "griper" (0.6) beats "gripper" (0.4).
fn gripper_frames() -> Vec<Vec<(char, f32)>> {
    let mut f = clear("close the gri");
    f.push(vec![('p', 0.97)]);
    f.push(vec![('p', 0.58), ('_', 0.4)]);
    f.push(vec![('p', 0.97)]);
    f.extend(clear("er"));
    f
}

#[test]
fn greedy_merges_repeats_and_drops_blanks() {
    let lp = matrix(&[&[('h', 0.9)], &[('h', 0.9)], &[('_', 0.9)], &[('i', 0.9)], &[(' ', 0.9)], &[('_', 0.9)]]);
    assert_eq!(greedy(&lp, &alphabet()), "hi");
    assert_eq!(greedy(&LogProbs::empty(29), &alphabet()), "");
}

#[test]
fn without_bias_the_near_miss_wins() {
    let lp = matrix(&refs(&gripper_frames()));
    assert_eq!(greedy(&lp, &alphabet()), "close the griper");
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), None, &Bias::default());
    assert_eq!(d.decode(&lp).text, "close the griper");
}

#[test]
fn runners_up_are_distinct_ranked_and_led_by_the_best() {
    let lp = matrix(&refs(&gripper_frames()));
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), None, &Bias::default());
    let all = d.decode_nbest(&lp, 4);
    assert_eq!(all[0], d.decode(&lp));
    assert!(all.len() > 1, "the ambiguous p gives a runner-up");
    assert!(all.iter().any(|x| x.text == "close the gripper"), "{all:?}");
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score), "{all:?}");
    for (i, a) in all.iter().enumerate() {
        assert!(all[..i].iter().all(|b| b.text != a.text), "{all:?}");
    }
    assert_eq!(d.decode_nbest(&lp, 1).len(), 1);
    assert_eq!(d.decode_nbest(&lp, 0).len(), 1, "the best is always reported");
    assert_eq!(d.decode_nbest(&LogProbs::empty(29), 4).len(), 1);
}

#[test]
fn a_vocabulary_word_beats_its_near_miss() {
    let lp = matrix(&refs(&gripper_frames()));
    let bias = Bias { vocabulary: vec!["gripper".into(), "close".into()], names: vec![] };
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), None, &bias);
    let got = d.decode(&lp);
    assert_eq!(got.text, "close the gripper");
    assert!(got.score > got.acoustic, "the bonus is part of the score");
}

#[test]
fn the_word_lm_prefers_known_words() {
    let lm = WordLm::from_counts(
        ["<s>", "</s>", "close", "gripper", "the"].map(String::from).to_vec(),
        &[20, 20, 20, 20, 20],
        &[0, 2, 20, 2, 4, 20, 4, 3, 20, 3, 1, 20],
    )
    .unwrap();
    let lp = matrix(&refs(&gripper_frames()));
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), Some(&lm), &Bias::default());
    assert_eq!(d.decode(&lp).text, "close the gripper");
}

#[test]
fn a_multi_word_name_beats_a_near_miss() {
    // "go to piano r" then (u 0.6 | o 0.4), blank, o, m: "piano ruom" is
    // likelier acoustically than "piano room".
    let mut f = clear("go to piano r");
    f.push(vec![('u', 0.58), ('o', 0.4)]);
    f.push(vec![('_', 0.97)]);
    f.extend(clear("om"));
    let lp = matrix(&refs(&f));
    assert_eq!(greedy(&lp, &alphabet()), "go to piano ruom");
    let bias = Bias { vocabulary: vec![], names: vec!["Piano Room".into()] };
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), None, &bias);
    assert_eq!(d.decode(&lp).text, "go to piano room");
}

#[test]
fn silence_and_empty_input_decode_to_nothing() {
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), None, &Bias::default());
    assert_eq!(d.decode(&LogProbs::empty(29)).text, "");
    let blanks = vec![vec![('_', 0.99)]; 30];
    assert_eq!(d.decode(&matrix(&refs(&blanks))).text, "");
    let spaces = vec![vec![(' ', 0.99)]; 5];
    assert_eq!(d.decode(&matrix(&refs(&spaces))).text, "");
    // NaN rows (a broken model) are skipped, not a panic.
    let nan = LogProbs::new(2, 29, vec![f32::NAN; 58]).unwrap();
    assert_eq!(d.decode(&nan).text, "");
    // A matrix for another alphabet is not decoded.
    assert_eq!(d.decode(&LogProbs::new(1, 3, vec![0.0; 3]).unwrap()).text, "");
}

#[test]
fn shapes_and_alphabets_are_checked() {
    assert!(matches!(LogProbs::new(2, 29, vec![0.0; 57]), Err(CtcError::Shape { .. })));
    assert!(matches!(Alphabet::new("ABC", 0), Err(CtcError::Alphabet(_))));
    assert!(matches!(Alphabet::new("abca", 0), Err(CtcError::Alphabet(_))));
    assert!(matches!(Alphabet::new("abc", 4), Err(CtcError::Alphabet(_))));
    assert_eq!(Alphabet::new("abc", 3).unwrap().classes(), 4);
}

/// Words a, b, c with a few counted pairs: the bigram model both LM
/// tests start from.
fn abc_bigram_lm() -> WordLm {
    WordLm::from_counts(
        ["<s>", "</s>", "a", "b", "c"].map(String::from).to_vec(),
        &[10, 10, 7, 5, 1],
        &[0, 2, 6, 0, 3, 4, 2, 3, 5, 3, 1, 9, 4, 1, 1, 2, 1, 2],
    )
    .unwrap()
}

#[test]
fn lm_probabilities_sum_to_one_in_every_context() {
    let lm = abc_bigram_lm();
    for prev in [BOS, 2, 3, 4, u32::MAX] {
        let known: f64 = (1..5u32).map(|w| f64::from(lm.log_prob(prev, Some(w))).exp()).sum();
        let total = known + f64::from(lm.log_prob(prev, None)).exp();
        assert!((total - 1.0).abs() < 1e-4, "context {prev}: {total}");
    }
    assert!(lm.log_prob(3, Some(3)) < lm.log_prob(2, Some(3)), "a seen pair beats the backoff");
    assert!(lm.log_prob(BOS, None) < lm.log_prob(BOS, Some(EOS)));
    assert!(lm.log_prob(BOS, Some(BOS)).is_infinite(), "<s> never follows");
}

#[test]
fn trigram_probabilities_sum_to_one_in_every_context() {
    let lm = abc_bigram_lm().with_trigrams(&[0, 0, 2, 6, 0, 0, 3, 4, 0, 2, 3, 5, 2, 3, 1, 5, 0, 3, 1, 4]).unwrap();
    assert!(lm.has_trigrams());
    for (prev2, prev) in [(BOS, BOS), (BOS, 2), (2, 3), (BOS, 3), (3, 3), (u32::MAX, 2), (4, u32::MAX)] {
        let known: f64 = (1..5u32).map(|w| f64::from(lm.log_prob3(prev2, prev, Some(w))).exp()).sum();
        let total = known + f64::from(lm.log_prob3(prev2, prev, None)).exp();
        assert!((total - 1.0).abs() < 1e-4, "context ({prev2}, {prev}): {total}");
    }
    // "a b" ended the sentence five times out of five: after "a b" the
    // trigram is surer of the end, and less sure of another "b", than the
    // bigram after "b" alone.
    assert!(lm.log_prob3(2, 3, Some(EOS)) > lm.log_prob(3, Some(EOS)));
    assert!(lm.log_prob3(2, 3, Some(3)) < lm.log_prob(3, Some(3)));
    // An unseen pair context is the bigram exactly.
    assert_eq!(lm.log_prob3(4, 2, Some(3)), lm.log_prob(2, Some(3)));
}

#[test]
fn malformed_trigrams_are_typed_errors() {
    let base =
        r#"{"format": "robot-asr-lm/1", "words": ["<s>", "</s>", "go"], "unigrams": [1, 1, 1], "bigrams": [0, 2, 1]"#;
    let ok = WordLm::from_json(&format!(r#"{base}, "trigrams": [0, 0, 2, 1]}}"#)).unwrap();
    assert!(ok.has_trigrams());
    for bad in [
        "[0, 0, 2]",
        "[0, 0, 9, 1]",
        "[0, 0, 2, 0]",
        "[2, 2, 0, 1]",
        "[0, 0, 2, 1, 0, 0, 2, 1]",
        "[0, 0, 4294967298, 1]",
    ] {
        let text = format!(r#"{base}, "trigrams": {bad}}}"#);
        let e = WordLm::from_json(&text).expect_err(&text);
        assert!(matches!(e, LmError::Trigrams(_)), "{text}: {e:?}");
    }
}

#[test]
fn malformed_lm_files_are_typed_errors() {
    let ok =
        r#"{"format": "robot-asr-lm/1", "words": ["<s>", "</s>", "go"], "unigrams": [1, 1, 1], "bigrams": [0, 2, 1]}"#;
    let lm = WordLm::from_json(ok).unwrap();
    assert_eq!((lm.len(), lm.id("go"), lm.word(2)), (3, Some(2), Some("go")));
    type Check = fn(&LmError) -> bool;
    let cases: [(&str, Check); 7] = [
        ("not json", |e| matches!(e, LmError::Json(_))),
        (r#"{"format": "arpa", "words": [], "unigrams": [], "bigrams": []}"#, |e| matches!(e, LmError::Format { .. })),
        (r#"{"format": "robot-asr-lm/1", "words": ["go"], "unigrams": [1], "bigrams": []}"#, |e| {
            matches!(e, LmError::Words(_))
        }),
        (
            r#"{"format": "robot-asr-lm/1", "words": ["<s>", "</s>", "go", "go"], "unigrams": [1, 1, 1, 1], "bigrams": []}"#,
            |e| matches!(e, LmError::Words(_)),
        ),
        (r#"{"format": "robot-asr-lm/1", "words": ["<s>", "</s>"], "unigrams": [1], "bigrams": []}"#, |e| {
            matches!(e, LmError::Counts { .. })
        }),
        (r#"{"format": "robot-asr-lm/1", "words": ["<s>", "</s>"], "unigrams": [1, 1], "bigrams": [0, 1]}"#, |e| {
            matches!(e, LmError::Bigrams(_))
        }),
        (r#"{"format": "robot-asr-lm/1", "words": ["<s>", "</s>"], "unigrams": [1, 1], "bigrams": [0, 7, 1]}"#, |e| {
            matches!(e, LmError::Bigrams(_))
        }),
    ];
    for (text, want) in cases {
        let e = WordLm::from_json(text).expect_err(text);
        assert!(want(&e), "{text}: {e:?}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn lexicon_trie_follows_spellings() {
    let lm = WordLm::from_counts(["<s>", "</s>", "grip", "gripper"].map(String::from).to_vec(), &[1, 1, 1, 1], &[])
        .unwrap()
        .with_extra_words(["kitchen"]);
    let walk = |w: &str| w.bytes().try_fold(lm.trie_root(), |s, b| lm.trie_step(s, b));
    assert_eq!(walk("grip").and_then(|s| lm.trie_word(s)), lm.id("grip"));
    assert_eq!(walk("gripp").and_then(|s| lm.trie_word(s)), None);
    assert!(walk("gripp").is_some());
    assert!(walk("gripe").is_none());
    assert_eq!(walk("kitchen").and_then(|s| lm.trie_word(s)), lm.id("kitchen"));
}

#[test]
fn a_word_boundary_the_model_left_out_is_put_back_between_lexicon_words() {
    let lm = WordLm::from_counts(
        ["<s>", "</s>", "turn", "left"].map(String::from).to_vec(),
        &[20, 20, 20, 20],
        &[0, 2, 20, 2, 3, 20, 3, 1, 20],
    )
    .unwrap();
    // Every frame a confident letter, no blank or space anywhere: the
    // model ran the two words together.
    let f: Vec<Vec<(char, f32)>> = "turnleft".chars().map(|c| vec![(c, 0.999)]).collect();
    let lp = matrix(&refs(&f));
    assert_eq!(greedy(&lp, &alphabet()), "turnleft");
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), Some(&lm), &Bias::default());
    assert_eq!(d.decode(&lp).text, "turn left");
    let off = BeamConfig { implicit_space: None, ..BeamConfig::default() };
    let d = BeamDecoder::new(off, alphabet(), Some(&lm), &Bias::default());
    assert_ne!(d.decode(&lp).text, "turn left", "only the implicit boundary splits it");
    // Without an LM there is no lexicon to split by.
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), None, &Bias::default());
    assert_eq!(d.decode(&lp).text, "turnleft");
}

#[test]
fn a_long_run_on_off_the_lexicon_costs_by_length() {
    // A unigram LM over 40 words, so each word costs about what it does in
    // the shipped model (ln 1/40) and a path through six words is not free.
    let mut words: Vec<String> =
        ["<s>", "</s>", "stop", "ten", "minutes", "and", "then", "rest"].map(String::from).to_vec();
    words.extend((0..32u8).map(|i| format!("filler{}{}", char::from(b'a' + i / 26), char::from(b'a' + i % 26))));
    let counts = vec![20; words.len()];
    let lm = WordLm::from_counts(words, &counts, &[]).unwrap();
    // No spaces, and three letters the model got wrong with confidence.
    let mut f: Vec<Vec<(char, f32)>> = "stoptenminutesandthenrest".chars().map(|c| vec![(c, 0.999)]).collect();
    f[5] = vec![('i', 0.99), ('e', 0.009)];
    f[10] = vec![('a', 0.99), ('u', 0.009)];
    f[18] = vec![('x', 0.99), ('h', 0.009)];
    let lp = matrix(&refs(&f));
    assert_eq!(greedy(&lp, &alphabet()), "stoptinminatesandtxenrest");
    let flat = BeamConfig { oov_letter_penalty: 0.0, ..BeamConfig::default() };
    let d = BeamDecoder::new(flat, alphabet(), Some(&lm), &Bias::default());
    assert_eq!(d.decode(&lp).text, "stoptinminatesandtxenrest", "a one-off penalty keeps the run-on");
    let d = BeamDecoder::new(BeamConfig::default(), alphabet(), Some(&lm), &Bias::default());
    assert_eq!(d.decode(&lp).text, "stop ten minutes and then rest");
}
