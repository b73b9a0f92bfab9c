//! The speech decoder's word language model: a trigram model over the words
//! people say to the robot, read from `models/asr/lm.json` (written by
//! `models/training/voice/lm.py` from the brain's training utterances in
//! spoken form). The CTC beam search ([`super::ctc`]) asks it, at each word
//! boundary, how likely the finished word is after the previous one, and
//! whether a half-spelt word can still become a known word (the lexicon
//! prefix check that keeps "gripp" alive while "gripe" falls behind).
//!
//! Smoothing is Witten-Bell interpolation, trigram over bigram over an
//! add-k unigram, so every word, known or not, has a finite
//! log-probability: `P(w|v) = λ_v c(v,w)/c(v) + (1-λ_v) P1(w)`,
//! `λ_v = c(v)/(c(v)+n(v))` with `n(v)` the number of distinct followers of
//! `v`, `P1(w) = (c(w)+k)/(N+k(V+1))` where the `+1` is the unknown word,
//! and the same step again for `P(w|u,v)` over `P(w|v)`. The trigrams are
//! optional in the file (an older bigram-only file reads as before); the
//! sentence start counts as two `<s>`, so the first word has a trigram
//! context too.

use std::collections::HashMap;

/// The file's `format` value this reader understands.
pub const LM_FORMAT: &str = "robot-asr-lm/1";
/// Word id of the sentence start.
pub const BOS: u32 = 0;
/// Word id of the sentence end.
pub const EOS: u32 = 1;
/// Add-k constant of the unigram floor.
const ADD_K: f64 = 0.5;

/// Why a language model file was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum LmError {
    #[error("not JSON of the expected shape: {0}")]
    Json(String),
    #[error("format `{found}` is not `{LM_FORMAT}`")]
    Format { found: String },
    #[error("`words` must start with <s>, </s> and hold no duplicates or empty words ({0})")]
    Words(String),
    #[error("{words} words but {counts} unigram counts")]
    Counts { words: usize, counts: usize },
    #[error("`bigrams` must be (prev, next, count) triples of known word ids: {0}")]
    Bigrams(String),
    #[error("`trigrams` must be (prev2, prev, next, count) quadruples of known word ids: {0}")]
    Trigrams(String),
}

#[derive(serde::Deserialize)]
struct LmFile {
    format: String,
    words: Vec<String>,
    unigrams: Vec<u64>,
    bigrams: Vec<u64>,
    #[serde(default)]
    trigrams: Vec<u64>,
}

/// A node of the lexicon's character trie.
#[derive(Debug, Clone, Default)]
struct TrieNode {
    /// Children by byte, sorted (few per node).
    children: Vec<(u8, u32)>,
    /// The word id when a word ends here.
    word: Option<u32>,
}

/// The bigram model and its lexicon.
#[derive(Debug, Clone)]
pub struct WordLm {
    words: Vec<String>,
    ids: HashMap<String, u32>,
    /// ln P1(w) per word id, and for the unknown word.
    unigram: Vec<f32>,
    unknown: f32,
    /// ln of the bigram's interpolated probability for seen pairs.
    bigram: HashMap<(u32, u32), f32>,
    /// ln(1 - λ_v) per context: the weight left for the unigram.
    backoff: Vec<f32>,
    /// ln of the trigram's interpolated probability for seen triples.
    trigram: HashMap<(u32, u32, u32), f32>,
    /// ln(1 - λ_uv) per seen two-word context: the weight left for the bigram.
    tri_backoff: HashMap<(u32, u32), f32>,
    trie: Vec<TrieNode>,
}

/// Where a partly spelt word stands in the lexicon.
pub type TrieState = u32;

impl WordLm {
    /// Parses the JSON text of `lm.json`.
    pub fn from_json(text: &str) -> Result<WordLm, LmError> {
        let f: LmFile = serde_json::from_str(text).map_err(|e| LmError::Json(e.to_string()))?;
        if f.format != LM_FORMAT {
            return Err(LmError::Format { found: f.format });
        }
        WordLm::from_counts(f.words, &f.unigrams, &f.bigrams)?.with_trigrams(&f.trigrams)
    }

    /// Builds the model from counts laid out as in the file.
    pub fn from_counts(words: Vec<String>, unigrams: &[u64], bigrams: &[u64]) -> Result<WordLm, LmError> {
        if words.first().map(String::as_str) != Some("<s>") || words.get(1).map(String::as_str) != Some("</s>") {
            return Err(LmError::Words("the first two must be <s> and </s>".into()));
        }
        if words.len() != unigrams.len() {
            return Err(LmError::Counts { words: words.len(), counts: unigrams.len() });
        }
        if u32::try_from(words.len()).is_err() {
            return Err(LmError::Words("too many words".into()));
        }
        let mut ids = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if w.is_empty() || w.contains(' ') || ids.insert(w.clone(), i as u32).is_some() {
                return Err(LmError::Words(format!("word {i} `{w}`")));
            }
        }
        if !bigrams.len().is_multiple_of(3) {
            return Err(LmError::Bigrams(format!("{} numbers is not a multiple of 3", bigrams.len())));
        }
        let n = words.len();
        // P1 over everything that can follow: all words but <s>, plus unknown.
        let total: f64 = unigrams.iter().skip(1).map(|&c| c as f64).sum();
        let denom = total + ADD_K * n as f64;
        let unigram: Vec<f32> = unigrams
            .iter()
            .enumerate()
            .map(|(i, &c)| if i == BOS as usize { f32::NEG_INFINITY } else { ((c as f64 + ADD_K) / denom).ln() as f32 })
            .collect();
        let unknown = (ADD_K / denom).ln() as f32;
        let (mut ctx_total, mut followers) = (vec![0f64; n], vec![0f64; n]);
        let mut pairs = Vec::with_capacity(bigrams.len() / 3);
        for t in bigrams.chunks_exact(3) {
            let (a, b, c) = (t[0], t[1], t[2]);
            let (Ok(a), Ok(b)) = (usize::try_from(a), usize::try_from(b)) else {
                return Err(LmError::Bigrams(format!("ids {a}, {b}")));
            };
            if a >= n || b >= n || c == 0 || b == BOS as usize {
                return Err(LmError::Bigrams(format!("({a}, {b}, {c}) with {n} words")));
            }
            ctx_total[a] += c as f64;
            followers[a] += 1.0;
            pairs.push((a, b, c as f64));
        }
        let lambda: Vec<f64> =
            ctx_total.iter().zip(&followers).map(|(&c, &f)| if c > 0.0 { c / (c + f) } else { 0.0 }).collect();
        let backoff: Vec<f32> = lambda.iter().map(|&l| (1.0 - l).ln() as f32).collect();
        let mut bigram = HashMap::with_capacity(pairs.len());
        for (a, b, c) in pairs {
            let p1 = f64::from(unigram[b]).exp();
            let p = lambda[a] * c / ctx_total[a] + (1.0 - lambda[a]) * p1;
            bigram.insert((a as u32, b as u32), p.ln() as f32);
        }
        let mut lm = WordLm {
            words,
            ids,
            unigram,
            unknown,
            bigram,
            backoff,
            trigram: HashMap::new(),
            tri_backoff: HashMap::new(),
            trie: vec![TrieNode::default()],
        };
        for i in 2..lm.words.len() {
            let w = lm.words[i].clone();
            lm.insert_trie(&w, i as u32);
        }
        Ok(lm)
    }

    /// Adds the trigram layer from (prev2, prev, next, count) quadruples laid
    /// out as in the file; none leaves the bigram model as it is.
    pub fn with_trigrams(mut self, trigrams: &[u64]) -> Result<WordLm, LmError> {
        if !trigrams.len().is_multiple_of(4) {
            return Err(LmError::Trigrams(format!("{} numbers is not a multiple of 4", trigrams.len())));
        }
        let n = self.words.len();
        let mut ctx: HashMap<(u32, u32), (f64, f64)> = HashMap::new();
        let mut triples = Vec::with_capacity(trigrams.len() / 4);
        for q in trigrams.chunks_exact(4) {
            let ids: Vec<u32> =
                q[..3].iter().filter_map(|&i| u32::try_from(i).ok()).filter(|&i| (i as usize) < n).collect();
            let (&[a, b, c], count) = (ids.as_slice(), q[3]) else {
                return Err(LmError::Trigrams(format!("ids {:?} with {n} words", &q[..3])));
            };
            if count == 0 || c == BOS {
                return Err(LmError::Trigrams(format!("({a}, {b}, {c}, {count})")));
            }
            let e = ctx.entry((a, b)).or_default();
            e.0 += count as f64;
            e.1 += 1.0;
            triples.push((a, b, c, count as f64));
        }
        let lambda = |&(total, followers): &(f64, f64)| total / (total + followers);
        for (a, b, c, count) in triples {
            let pair = &ctx[&(a, b)];
            let l = lambda(pair);
            let p2 = f64::from(self.log_prob(b, Some(c))).exp();
            let p = l * count / pair.0 + (1.0 - l) * p2;
            if self.trigram.insert((a, b, c), p.ln() as f32).is_some() {
                return Err(LmError::Trigrams(format!("({a}, {b}, {c}) twice")));
            }
        }
        self.tri_backoff = ctx.iter().map(|(&k, v)| (k, (1.0 - lambda(v)).ln() as f32)).collect();
        Ok(self)
    }

    /// A model with no counts and no words: every word is equally unknown.
    pub fn empty() -> WordLm {
        let unknown = 0.0;
        WordLm {
            words: vec!["<s>".into(), "</s>".into()],
            ids: HashMap::from([("<s>".to_string(), BOS), ("</s>".to_string(), EOS)]),
            unigram: vec![f32::NEG_INFINITY, unknown],
            unknown,
            bigram: HashMap::new(),
            backoff: vec![0.0, 0.0],
            trigram: HashMap::new(),
            tri_backoff: HashMap::new(),
            trie: vec![TrieNode::default()],
        }
    }

    fn insert_trie(&mut self, word: &str, id: u32) {
        let mut node = 0usize;
        for b in word.bytes() {
            node = match self.trie[node].children.binary_search_by_key(&b, |c| c.0) {
                Ok(k) => self.trie[node].children[k].1 as usize,
                Err(k) => {
                    let next = self.trie.len() as u32;
                    self.trie.push(TrieNode::default());
                    self.trie[node].children.insert(k, (b, next));
                    next as usize
                }
            };
        }
        // Keep the first id: the lexicon may list a word twice (bias + LM).
        self.trie[node].word.get_or_insert(id);
    }

    /// An LM with the same counts plus extra lexicon words (bias words and
    /// names not in the training texts): they get no count, only the
    /// unknown word's probability, but spelling them is no longer
    /// out-of-lexicon.
    pub fn with_extra_words<'a>(&self, extra: impl IntoIterator<Item = &'a str>) -> WordLm {
        let mut lm = self.clone();
        for w in extra {
            if !w.is_empty() && !w.contains(' ') && !lm.ids.contains_key(w) {
                let id = lm.words.len() as u32;
                lm.words.push(w.to_string());
                lm.ids.insert(w.to_string(), id);
                lm.unigram.push(lm.unknown);
                lm.backoff.push(0.0);
                lm.insert_trie(w, id);
            }
        }
        lm
    }

    /// Number of words, `<s>` and `</s>` included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the lexicon is only `<s>` and `</s>`.
    pub fn is_empty(&self) -> bool {
        self.words.len() <= 2
    }

    /// The id of a word, if known.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// The word of an id.
    pub fn word(&self, id: u32) -> Option<&str> {
        self.words.get(id as usize).map(String::as_str)
    }

    /// `ln P(word | prev)`; `word` `None` is the unknown word.
    pub fn log_prob(&self, prev: u32, word: Option<u32>) -> f32 {
        let Some(w) = word else {
            return self.backoff.get(prev as usize).copied().unwrap_or(0.0) + self.unknown;
        };
        if let Some(&p) = self.bigram.get(&(prev, w)) {
            return p;
        }
        let uni = self.unigram.get(w as usize).copied().unwrap_or(self.unknown);
        self.backoff.get(prev as usize).copied().unwrap_or(0.0) + uni
    }

    /// `ln P(word | prev2 prev)`: the trigram where the pair was seen as a
    /// context, else [`Self::log_prob`]; `word` `None` is the unknown word.
    pub fn log_prob3(&self, prev2: u32, prev: u32, word: Option<u32>) -> f32 {
        let Some(&backoff) = self.tri_backoff.get(&(prev2, prev)) else {
            return self.log_prob(prev, word);
        };
        match word.and_then(|w| self.trigram.get(&(prev2, prev, w))) {
            Some(&p) => p,
            None => backoff + self.log_prob(prev, word),
        }
    }

    /// Whether the model has a trigram layer.
    pub fn has_trigrams(&self) -> bool {
        !self.trigram.is_empty()
    }

    /// The trie state of the empty word.
    pub fn trie_root(&self) -> TrieState {
        0
    }

    /// The state after one more byte, `None` when no lexicon word starts so.
    pub fn trie_step(&self, state: TrieState, byte: u8) -> Option<TrieState> {
        let node = self.trie.get(state as usize)?;
        node.children.binary_search_by_key(&byte, |c| c.0).ok().map(|k| node.children[k].1)
    }

    /// The word spelt exactly by the path to `state`, if it is one.
    pub fn trie_word(&self, state: TrieState) -> Option<u32> {
        self.trie.get(state as usize).and_then(|n| n.word)
    }
}
