//! The encoder's input side: `tokenizer.json` (the MiniLM WordPiece
//! tokenizer) through the `tokenizers` crate, built without its C and C++
//! parts so the robot binary cross-compiles to aarch64.
//!
//! Besides the ids the decoder's pointers need each token's byte offsets in
//! the normalized text and where words begin and end; a word here is what
//! the training side calls one (FORMAT.md, `prepare.py`): a token starts a
//! word unless it is a `##` continuation, and ends one unless the next token
//! is. Padding and truncation are switched off whatever the file says: a
//! truncated utterance would be planned from half a sentence, so over-long
//! input is refused by the caller instead.

use tokenizers::Tokenizer;

use super::BrainError;

/// WordPiece's continuation prefix (`"play" "##ing"`).
const CONTINUATION: &str = "##";

/// The MiniLM WordPiece tokenizer.
pub struct WordPieceTokenizer {
    inner: Tokenizer,
    unk_id: Option<u32>,
}

impl std::fmt::Debug for WordPieceTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPieceTokenizer").field("unk_id", &self.unk_id).finish_non_exhaustive()
    }
}

/// One tokenized utterance, `[CLS]` first and `[SEP]` last.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Encoded {
    pub ids: Vec<i64>,
    /// Byte range of each token in the tokenized text (`(0, 0)` for the
    /// special tokens).
    pub offsets: Vec<(usize, usize)>,
    pub tokens: Vec<String>,
    /// How many tokens between `[CLS]` and `[SEP]` are `[UNK]`.
    pub unknown: usize,
}

impl Encoded {
    /// `T`: tokens including `[CLS]` and `[SEP]`.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether token `i` is an inner token (not `[CLS]`/`[SEP]`) that
    /// starts a word.
    pub fn word_start(&self, i: usize) -> bool {
        self.inner(i) && !self.tokens[i].starts_with(CONTINUATION)
    }

    /// Whether token `i` is an inner token that ends a word.
    pub fn word_end(&self, i: usize) -> bool {
        self.inner(i) && !self.tokens.get(i + 1).is_some_and(|t| t.starts_with(CONTINUATION))
    }

    fn inner(&self, i: usize) -> bool {
        i >= 1 && i + 2 <= self.tokens.len()
    }
}

impl WordPieceTokenizer {
    /// Reads `tokenizer.json`.
    pub fn from_json(bytes: &[u8]) -> Result<WordPieceTokenizer, BrainError> {
        let mut inner = Tokenizer::from_bytes(bytes).map_err(|e| BrainError::Tokenizer { reason: e.to_string() })?;
        inner.with_truncation(None).map_err(|e| BrainError::Tokenizer { reason: e.to_string() })?;
        inner.with_padding(None);
        let unk_id = inner.token_to_id("[UNK]");
        Ok(WordPieceTokenizer { inner, unk_id })
    }

    /// Tokenizes text, adding `[CLS]` and `[SEP]`.
    pub fn encode(&self, text: &str) -> Result<Encoded, BrainError> {
        let enc = self.inner.encode(text, true).map_err(|e| BrainError::Tokenizer { reason: e.to_string() })?;
        let raw = enc.get_ids();
        let n = raw.len();
        let unknown = match self.unk_id {
            Some(u) => raw.iter().enumerate().filter(|&(i, &id)| id == u && i > 0 && i + 1 < n).count(),
            None => 0,
        };
        Ok(Encoded {
            ids: raw.iter().map(|&i| i64::from(i)).collect(),
            offsets: enc.get_offsets().to_vec(),
            tokens: enc.get_tokens().to_vec(),
            unknown,
        })
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A tiny tokenizer.json of the MiniLM kind (BERT normalizer and
    //! pre-tokenizer, WordPiece, `[CLS] A [SEP]` template) for unit tests.

    /// Words of the fixture vocabulary after the special tokens.
    pub const WORDS: &[&str] = &[
        "drive", "forward", "turn", "left", "right", "go", "to", "the", "kitchen", "front", "door", "say", "hello",
        "world", "m", "deg", "s", "mps", "2", "90", "0", ".", "5", "1", "3", "wait", "find", "red", "ball", "and",
        "then", ",", "!", "?", "'", "play", "##ing", "##s", "fly", "moon", "back", "up", "30", "cm", "seconds",
        "meters",
    ];

    pub fn tokenizer_json() -> String {
        let mut vocab = serde_json::Map::new();
        for (i, t) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"].iter().chain(WORDS).enumerate() {
            vocab.insert(t.to_string(), serde_json::json!(i));
        }
        let special = |id: u32, content: &str| {
            serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                               "rstrip": false, "normalized": false, "special": true})
        };
        serde_json::json!({
            "version": "1.0",
            // Switched on here to check that the loader switches them off.
            "truncation": {"max_length": 4, "strategy": "LongestFirst", "stride": 0},
            "padding": {"strategy": {"Fixed": 32}, "direction": "Right", "pad_to_multiple_of": null,
                        "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
            "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")],
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                           "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                   "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": vocab}
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok() -> WordPieceTokenizer {
        WordPieceTokenizer::from_json(fixture::tokenizer_json().as_bytes()).unwrap()
    }

    #[test]
    fn adds_cls_sep_and_keeps_byte_offsets() {
        let e = tok().encode("go to the front door , playing").unwrap();
        assert_eq!(e.tokens, ["[CLS]", "go", "to", "the", "front", "door", ",", "play", "##ing", "[SEP]"]);
        assert_eq!(e.offsets[4], (10, 15));
        assert_eq!(e.offsets[8], (27, 30));
        assert_eq!(e.ids.first(), Some(&2));
        assert_eq!(e.ids.last(), Some(&3));
        assert_eq!(e.unknown, 0);
        // No truncation to 4 tokens, no padding to 32.
        assert_eq!(e.len(), 10);
    }

    #[test]
    fn words_follow_wordpiece_continuations() {
        let e = tok().encode("playing balls").unwrap();
        assert_eq!(e.tokens, ["[CLS]", "play", "##ing", "ball", "##s", "[SEP]"]);
        let starts: Vec<bool> = (0..e.len()).map(|i| e.word_start(i)).collect();
        let ends: Vec<bool> = (0..e.len()).map(|i| e.word_end(i)).collect();
        assert_eq!(starts, [false, true, false, true, false, false]);
        assert_eq!(ends, [false, false, true, false, true, false]);
    }

    #[test]
    fn counts_unknown_words_and_survives_odd_text() {
        let t = tok();
        let e = t.encode("zzz drive qqq").unwrap();
        assert_eq!(e.unknown, 2);
        assert_eq!(t.encode("").unwrap().len(), 2);
        for s in ["\u{0}\u{1}\u{7f}", "🤖🤖", "寿司を食べる", &"x".repeat(10_000)] {
            let e = t.encode(s).unwrap();
            assert!(e.len() >= 2);
        }
    }

    #[test]
    fn refuses_a_broken_file() {
        assert!(matches!(WordPieceTokenizer::from_json(b"{"), Err(BrainError::Tokenizer { .. })));
    }
}
