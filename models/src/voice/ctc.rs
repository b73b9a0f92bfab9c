//! Turning the speech model's per-frame character log-probabilities (CTC)
//! into words. [`greedy`] takes the best class of each frame, merges
//! repeats and drops blanks: the reference the parity test compares with
//! onnxruntime. [`BeamDecoder`] is what the robot uses: a CTC prefix beam
//! search with shallow fusion of the word trigram model ([`super::lm`]) at
//! word boundaries, a lexicon check as words are spelt (a prefix that no
//! known word starts with pays the out-of-lexicon penalty at once, so it
//! drops out of the beam before it crowds out the right spelling), and
//! biasing: words of the board's vocabulary and of names from memory get a
//! bonus, a whole multi-word name ("piano room") a further one. Every
//! hypothesis is identified by its prefix node, so paths spelling the same
//! text merge and its LM state is computed once, when the node is made.

use std::collections::HashMap;

use super::lm::{TrieState, WordLm, BOS, EOS};
use super::stt::Bias;

/// Why a log-probability matrix or alphabet was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum CtcError {
    #[error("{len} values is not {frames} frames of {classes} classes")]
    Shape { frames: usize, classes: usize, len: usize },
    #[error("bad alphabet: {0}")]
    Alphabet(String),
}

/// Per-frame log-probabilities, row-major `(frames, classes)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogProbs {
    frames: usize,
    classes: usize,
    data: Vec<f32>,
}

impl LogProbs {
    pub fn new(frames: usize, classes: usize, data: Vec<f32>) -> Result<LogProbs, CtcError> {
        if frames.checked_mul(classes) != Some(data.len()) {
            return Err(CtcError::Shape { frames, classes, len: data.len() });
        }
        Ok(LogProbs { frames, classes, data })
    }
    /// No frames (audio too short for one output frame).
    pub fn empty(classes: usize) -> LogProbs {
        LogProbs { frames: 0, classes, data: Vec::new() }
    }
    pub fn frames(&self) -> usize {
        self.frames
    }
    pub fn classes(&self) -> usize {
        self.classes
    }
    pub fn row(&self, t: usize) -> &[f32] {
        &self.data[t * self.classes..(t + 1) * self.classes]
    }
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
    /// The best class of every frame (ties: the lowest index).
    pub fn argmax(&self) -> Vec<usize> {
        (0..self.frames)
            .map(|t| {
                self.row(t)
                    .iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
                    .0
            })
            .collect()
    }
}

/// Which byte each class writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Alphabet {
    /// `symbols[c]` is class `c`'s byte; the blank's entry is unused.
    symbols: Vec<u8>,
    blank: usize,
    space: Option<usize>,
}

impl Alphabet {
    /// Class `blank` is the CTC blank; the others take the characters of
    /// `chars` in order (lower-case ASCII letters, apostrophe and space).
    pub fn new(chars: &str, blank: usize) -> Result<Alphabet, CtcError> {
        if !chars.bytes().all(|b| b == b' ' || b == b'\'' || b.is_ascii_lowercase()) || chars.is_empty() {
            return Err(CtcError::Alphabet(format!("`{chars}` must be lower-case letters, ' and space")));
        }
        let n = chars.len() + 1;
        if blank >= n {
            return Err(CtcError::Alphabet(format!("blank {blank} outside 0..{n}")));
        }
        let mut it = chars.bytes();
        let symbols: Vec<u8> = (0..n).map(|c| if c == blank { 0 } else { it.next().unwrap_or(0) }).collect();
        let mut seen = symbols.clone();
        seen.remove(blank);
        seen.sort_unstable();
        if seen.windows(2).any(|w| w[0] == w[1]) {
            return Err(CtcError::Alphabet(format!("`{chars}` repeats a character")));
        }
        let space = (0..n).find(|&c| c != blank && symbols[c] == b' ');
        Ok(Alphabet { symbols, blank, space })
    }
    pub fn classes(&self) -> usize {
        self.symbols.len()
    }
    pub fn blank(&self) -> usize {
        self.blank
    }
}

/// Collapses spaces and trims: the transcript's form.
fn tidy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Best class per frame, repeats merged, blanks dropped.
pub fn greedy(lp: &LogProbs, alphabet: &Alphabet) -> String {
    let mut out = Vec::new();
    let mut prev = None;
    for c in lp.argmax() {
        if Some(c) != prev && c != alphabet.blank {
            if let Some(&b) = alphabet.symbols.get(c) {
                out.push(b);
            }
        }
        prev = Some(c);
    }
    tidy(&out)
}

/// The beam search's knobs. Scores are natural logs added to the acoustic
/// log-probability of a prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct BeamConfig {
    /// Hypotheses kept per frame.
    pub beam: usize,
    /// Classes more than this below a frame's best are not tried.
    pub prune: f32,
    /// Weight of the word LM's log-probability.
    pub lm_weight: f32,
    /// Added per word (balances the LM's cost of every extra word).
    pub word_bonus: f32,
    /// Added (negative) once a word leaves the lexicon.
    pub oov_penalty: f32,
    /// Added (negative) for every further letter of a word already off the
    /// lexicon. A one-off penalty alone makes a run-on of many words
    /// ("restthirtyminutesandthen") cheaper than the words it swallows,
    /// each of which pays its LM term and boundary; charging by length keeps
    /// a short unknown name affordable and a long run-on not.
    pub oov_letter_penalty: f32,
    /// Added for a word of [`Bias::vocabulary`].
    pub vocab_bonus: f32,
    /// Added for a word of a [`Bias::names`] entry.
    pub name_bonus: f32,
    /// Added again when a whole multi-word name is complete.
    pub phrase_bonus: f32,
    /// Added (negative) for a word boundary the acoustic model did not
    /// write: with an LM, a letter that follows a complete lexicon word may
    /// also start a new word. Small models trained on few voices often run
    /// words together on an unfamiliar voice ("turnleft"); `None` turns
    /// the boundary off.
    pub implicit_space: Option<f32>,
    /// Distinct transcripts reported per utterance (the best and its
    /// runners-up), for the brain to choose among.
    pub alternatives: usize,
}

impl Default for BeamConfig {
    fn default() -> Self {
        BeamConfig {
            beam: 64,
            prune: 10.0,
            lm_weight: 0.7,
            word_bonus: 2.5,
            oov_penalty: -10.0,
            oov_letter_penalty: -1.0,
            vocab_bonus: 1.0,
            name_bonus: 2.0,
            phrase_bonus: 2.0,
            implicit_space: Some(-2.0),
            alternatives: 8,
        }
    }
}

/// A decoded utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub text: String,
    /// Acoustic log-probability of the text (all its alignments).
    pub acoustic: f32,
    /// Acoustic plus LM and bias terms: what ranked it first.
    pub score: f32,
}

impl Decoded {
    /// The empty transcript with the given log-probability: 0 when there
    /// was nothing to hear (no frames), minus infinity when no path survived.
    pub fn empty(logp: f32) -> Self {
        Decoded { text: String::new(), acoustic: logp, score: logp }
    }
}

/// No word: the context after an unknown word.
const UNKNOWN_CTX: u32 = u32::MAX;
/// Completed words remembered for multi-word names.
const HISTORY: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Hyp {
    node: u32,
    p_b: f32,
    p_nb: f32,
    /// LM, bias and penalty terms of the prefix so far.
    extra: f32,
    /// Last completed words, newest last (`UNKNOWN_CTX` padding).
    history: [u32; HISTORY],
    /// Where the word being spelt stands; `None` once off the lexicon.
    trie: Option<TrieState>,
    /// Whether the word being spelt is non-empty.
    in_word: bool,
}

fn lse(a: f32, b: f32) -> f32 {
    if a == f32::NEG_INFINITY {
        return b;
    }
    if b == f32::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

impl Hyp {
    fn total(&self) -> f32 {
        lse(self.p_b, self.p_nb)
    }
}

/// The prefix-tree node for `parent` followed by class `c`, made on first use.
fn child_of(nodes: &mut Vec<(u32, usize)>, children: &mut HashMap<(u32, usize), u32>, parent: u32, c: usize) -> u32 {
    *children.entry((parent, c)).or_insert_with(|| {
        nodes.push((parent, c));
        (nodes.len() - 1) as u32
    })
}

/// CTC prefix beam search with a word LM and biasing.
#[derive(Debug, Clone)]
pub struct BeamDecoder {
    config: BeamConfig,
    alphabet: Alphabet,
    lm: WordLm,
    /// Whether `lm` has counts (else only the lexicon of bias words).
    has_lm: bool,
    bonus: HashMap<u32, f32>,
    /// Multi-word names as word ids.
    phrases: Vec<Vec<u32>>,
}

fn words_of(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

impl BeamDecoder {
    /// A decoder for `alphabet`, fusing `lm` when given and favouring `bias`.
    /// Without an LM the lexicon is the bias words alone and nothing is
    /// out-of-lexicon (there is no lexicon to leave).
    pub fn new(config: BeamConfig, alphabet: Alphabet, lm: Option<&WordLm>, bias: &Bias) -> BeamDecoder {
        let vocab: Vec<String> = bias.vocabulary.iter().flat_map(|v| words_of(v)).collect();
        let names: Vec<Vec<String>> = bias.names.iter().map(|n| words_of(n)).filter(|n| !n.is_empty()).collect();
        let extra = vocab.iter().chain(names.iter().flatten()).map(String::as_str);
        let (lm, has_lm) = match lm {
            Some(lm) => (lm.with_extra_words(extra), true),
            None => (WordLm::empty().with_extra_words(extra), false),
        };
        let mut bonus = HashMap::new();
        for w in &vocab {
            if let Some(id) = lm.id(w) {
                bonus.insert(id, config.vocab_bonus);
            }
        }
        let mut phrases = Vec::new();
        for n in &names {
            let ids: Vec<u32> = n.iter().filter_map(|w| lm.id(w)).collect();
            for &id in &ids {
                let b = bonus.entry(id).or_insert(0.0);
                *b = b.max(config.name_bonus);
            }
            if ids.len() > 1 && ids.len() <= HISTORY {
                phrases.push(ids);
            }
        }
        BeamDecoder { config, alphabet, lm, has_lm, bonus, phrases }
    }

    pub fn config(&self) -> &BeamConfig {
        &self.config
    }

    /// LM, bias and penalty terms for finishing the word being spelt in
    /// `h` (a space or the end of the utterance); updates its history.
    fn finish_word(&self, h: &mut Hyp) -> f32 {
        if !h.in_word {
            return 0.0;
        }
        let word = h.trie.and_then(|s| self.lm.trie_word(s));
        let mut add = self.config.word_bonus;
        // A lexicon prefix that is no word only now turns out unknown.
        if word.is_none() && h.trie.is_some() && self.has_lm {
            add += self.config.oov_penalty;
        }
        if self.has_lm {
            let (prev2, prev) = (h.history[HISTORY - 2], h.history[HISTORY - 1]);
            add += self.config.lm_weight * self.lm.log_prob3(prev2, prev, word);
        }
        h.history.rotate_left(1);
        h.history[HISTORY - 1] = word.unwrap_or(UNKNOWN_CTX);
        if let Some(w) = word {
            add += self.bonus.get(&w).copied().unwrap_or(0.0);
            for p in &self.phrases {
                if h.history.ends_with(p) {
                    add += self.config.phrase_bonus;
                }
            }
        }
        h.trie = Some(self.lm.trie_root());
        h.in_word = false;
        add
    }

    /// `h` extended by the letter class `c`: steps the lexicon trie (the
    /// OOV penalty once it falls off, the per-letter one after that).
    fn start_letter(&self, mut k: Hyp, c: usize) -> Hyp {
        let byte = self.alphabet.symbols[c];
        let stepped = k.trie.and_then(|s| self.lm.trie_step(s, byte));
        if self.has_lm && stepped.is_none() {
            k.extra += if k.trie.is_some() { self.config.oov_penalty } else { self.config.oov_letter_penalty };
        }
        k.in_word = true;
        k.trie = stepped;
        k
    }

    /// Whether the word `h` is spelling is a whole lexicon word (so a
    /// boundary may follow it).
    fn ends_word(&self, h: &Hyp) -> bool {
        self.has_lm && h.in_word && h.trie.and_then(|s| self.lm.trie_word(s)).is_some()
    }

    /// The best transcript of `lp` (which must have this alphabet's classes).
    pub fn decode(&self, lp: &LogProbs) -> Decoded {
        self.decode_nbest(lp, 1).into_iter().next().unwrap_or(Decoded::empty(f32::NEG_INFINITY))
    }

    /// Up to `n` distinct transcripts of `lp`, best first. Paths of the
    /// final beam that spell the same words (differing only in spaces) count
    /// once, at their best score. An empty matrix gives one empty transcript.
    pub fn decode_nbest(&self, lp: &LogProbs, n: usize) -> Vec<Decoded> {
        if lp.classes() != self.alphabet.classes() || lp.frames() == 0 {
            return vec![Decoded::empty(0.0)];
        }
        let blank = self.alphabet.blank;
        let space = self.alphabet.space;
        // Prefix tree: (parent, class); root is node 0.
        let mut nodes: Vec<(u32, usize)> = vec![(0, blank)];
        let mut children: HashMap<(u32, usize), u32> = HashMap::new();
        let root = Hyp {
            node: 0,
            p_b: 0.0,
            p_nb: f32::NEG_INFINITY,
            extra: 0.0,
            history: [BOS; HISTORY],
            trie: Some(self.lm.trie_root()),
            in_word: false,
        };
        let mut beam = vec![root];
        let mut next: HashMap<u32, Hyp> = HashMap::new();
        let mut cand: Vec<usize> = Vec::with_capacity(lp.classes());
        for t in 0..lp.frames() {
            let row = lp.row(t);
            let clean = |v: f32| if v.is_nan() { f32::NEG_INFINITY } else { v };
            let best = row.iter().copied().map(clean).fold(f32::NEG_INFINITY, f32::max);
            if best == f32::NEG_INFINITY {
                continue;
            }
            cand.clear();
            cand.extend((0..row.len()).filter(|&c| c != blank && clean(row[c]) >= best - self.config.prune));
            next.clear();
            for h in &beam {
                let total = h.total();
                let last = if h.node == 0 { None } else { Some(nodes[h.node as usize].1) };
                let stay = next.entry(h.node).or_insert(Hyp { p_b: f32::NEG_INFINITY, p_nb: f32::NEG_INFINITY, ..*h });
                stay.p_b = lse(stay.p_b, total + clean(row[blank]));
                if let Some(l) = last {
                    stay.p_nb = lse(stay.p_nb, h.p_nb + clean(row[l]));
                }
                for &c in &cand {
                    let lpc = row[c];
                    if Some(c) == space && (last.is_none() || last == space) {
                        // A leading or second space writes nothing: like a blank.
                        let from = if last.is_none() { total } else { h.p_b };
                        let stay = next.get_mut(&h.node).map(|s| &mut s.p_b);
                        if let Some(p) = stay {
                            *p = lse(*p, from + lpc);
                        }
                        continue;
                    }
                    let p = if Some(c) == last { h.p_b + lpc } else { total + lpc };
                    if let (Some(penalty), Some(sp)) = (self.config.implicit_space, space) {
                        if Some(c) != space && self.ends_word(h) {
                            // The same frames read as "word, boundary, letter".
                            let gap = child_of(&mut nodes, &mut children, h.node, sp);
                            let mut k = Hyp { node: gap, p_b: f32::NEG_INFINITY, p_nb: f32::NEG_INFINITY, ..*h };
                            k.extra += self.finish_word(&mut k);
                            k.node = child_of(&mut nodes, &mut children, gap, c);
                            let entry = next.entry(k.node).or_insert_with(|| self.start_letter(k, c));
                            // The penalty goes with this path's probability:
                            // the node's other terms depend on its text only,
                            // and a written boundary reaches the same node.
                            entry.p_nb = lse(entry.p_nb, p + penalty);
                        }
                    }
                    let child = child_of(&mut nodes, &mut children, h.node, c);
                    let entry = next.entry(child).or_insert_with(|| {
                        let mut k = Hyp { node: child, p_b: f32::NEG_INFINITY, p_nb: f32::NEG_INFINITY, ..*h };
                        if Some(c) == space {
                            k.extra += self.finish_word(&mut k);
                            k
                        } else {
                            self.start_letter(k, c)
                        }
                    });
                    entry.p_nb = lse(entry.p_nb, p);
                }
            }
            beam.clear();
            beam.extend(next.values().copied().filter(|h| h.total() > f32::NEG_INFINITY));
            let key = |h: &Hyp| h.total() + h.extra;
            beam.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.node.cmp(&b.node)));
            beam.truncate(self.config.beam.max(1));
        }
        let mut ended: Vec<(f32, f32, u32)> = beam
            .iter()
            .map(|h| {
                let mut h = *h;
                let mut extra = h.extra + self.finish_word(&mut h);
                if self.has_lm {
                    let (prev2, prev) = (h.history[HISTORY - 2], h.history[HISTORY - 1]);
                    extra += self.config.lm_weight * self.lm.log_prob3(prev2, prev, Some(EOS));
                }
                (h.total() + extra, h.total(), h.node)
            })
            .collect();
        ended.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
        let mut out: Vec<Decoded> = Vec::with_capacity(n.max(1));
        for (score, acoustic, mut node) in ended {
            if out.len() >= n.max(1) {
                break;
            }
            let mut bytes = Vec::new();
            while node != 0 {
                let (parent, c) = nodes[node as usize];
                bytes.push(self.alphabet.symbols[c]);
                node = parent;
            }
            bytes.reverse();
            let text = tidy(&bytes);
            if out.iter().all(|d| d.text != text) {
                out.push(Decoded { text, acoustic, score });
            }
        }
        if out.is_empty() {
            out.push(Decoded::empty(f32::NEG_INFINITY));
        }
        out
    }
}
