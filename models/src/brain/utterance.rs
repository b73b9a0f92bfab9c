//! What the decoder may copy from one utterance: the quantities its pointers
//! can name (with their token positions) and every string span, with the
//! value FORMAT.md's reconstruction rule gives it. Computed once per
//! utterance, before decoding, so the grammar's masks only look things up.
//!
//! The string rule mirrors `reconstruct` in `models/training/brain/prepare.py`
//! (the training targets are found with it): the slice of the normalized text
//! from the start token's first byte to the end token's last, with every
//! quantity inside it put back in the user's own words, spaces before
//! `, . ! ?` removed, trimmed.

use crate::normalize::{Normalized, Unit};

use super::tokenize::Encoded;

/// Longest copied string, in tokens (`end - start < MAX_SPAN_TOKENS`).
pub const MAX_SPAN_TOKENS: usize = 24;

/// A quantity a number pointer can name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PtrQuantity {
    /// Encoder position of the quantity's first token.
    pub pos: usize,
    pub value: f64,
    pub unit: Option<Unit>,
}

/// One string a start/end pointer pair can copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub end: usize,
    pub text: String,
    /// `text.chars().count()`, compared with the argument's `max_len`.
    pub chars: usize,
}

/// Everything a pointer can refer to in one utterance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Copyable {
    /// `T`: encoder positions, `[CLS]` and `[SEP]` included.
    pub t: usize,
    pub quantities: Vec<PtrQuantity>,
    /// `spans[start]`: the spans beginning at token `start` (empty where
    /// `start` does not begin a word), by increasing end.
    pub spans: Vec<Vec<Span>>,
}

impl Copyable {
    /// The pointer targets of a normalized, tokenized utterance; `original`
    /// is the text before normalization (quantities' source words).
    pub fn new(original: &str, norm: &Normalized, enc: &Encoded) -> Copyable {
        let t = enc.len();
        let mut quantities = Vec::new();
        for q in &norm.numbers {
            // The last inner token starting at the quantity's first byte, as
            // the training side's offset table has it.
            let pos = (1..t.saturating_sub(1)).rev().find(|&i| enc.offsets.get(i).is_some_and(|o| o.0 == q.span.0));
            if let Some(pos) = pos {
                quantities.push(PtrQuantity { pos, value: q.value, unit: q.unit });
            }
        }
        let mut spans = vec![Vec::new(); t];
        for (start, out) in spans.iter_mut().enumerate() {
            if !enc.word_start(start) {
                continue;
            }
            for end in start..(start + MAX_SPAN_TOKENS).min(t.saturating_sub(1)) {
                if !enc.word_end(end) {
                    continue;
                }
                let text = reconstruct(original, norm, enc, start, end);
                // An empty value fails validation, so it is never offered.
                if !text.is_empty() {
                    let chars = text.chars().count();
                    out.push(Span { end, text, chars });
                }
            }
        }
        Copyable { t, quantities, spans }
    }

    /// The quantity whose first token is at `pos`.
    pub fn quantity_at(&self, pos: usize) -> Option<&PtrQuantity> {
        self.quantities.iter().find(|q| q.pos == pos)
    }

    /// The string copied by the pointer pair `start`, `end`.
    pub fn span(&self, start: usize, end: usize) -> Option<&Span> {
        self.spans.get(start)?.iter().find(|s| s.end == end)
    }
}

/// The string value of tokens `start..=end` (see the module docs).
pub fn reconstruct(original: &str, norm: &Normalized, enc: &Encoded, start: usize, end: usize) -> String {
    let (Some(&(s, _)), Some(&(_, t))) = (enc.offsets.get(start), enc.offsets.get(end)) else {
        return String::new();
    };
    let text = &norm.text;
    let slice = |a: usize, b: usize| text.get(a..b).unwrap_or("");
    let mut out = String::new();
    let mut pos = s;
    for q in &norm.numbers {
        let (qs, qe) = q.span;
        if qs < s || qe > t {
            continue;
        }
        let Some(source) = original.get(q.source.0..q.source.1) else { continue };
        let mut full_end = qe;
        if let Some(unit) = q.unit {
            let sym_len = 1 + unit.symbol().len();
            let follows = text.get(qe..qe + sym_len).is_some_and(|w| w.starts_with(' ') && &w[1..] == unit.symbol());
            if follows && qe + sym_len <= t {
                full_end = qe + sym_len;
            }
        }
        out.push_str(slice(pos, qs));
        out.push_str(source);
        pos = full_end;
    }
    out.push_str(slice(pos, t));
    for p in [",", ".", "!", "?"] {
        out = out.replace(&format!(" {p}"), p);
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::super::tokenize::{fixture, WordPieceTokenizer};
    use super::*;
    use crate::normalize::normalize;

    fn copyable(s: &str) -> (Copyable, Encoded, Normalized) {
        let tok = WordPieceTokenizer::from_json(fixture::tokenizer_json().as_bytes()).unwrap();
        let norm = normalize(s);
        let enc = tok.encode(&norm.text).unwrap();
        (Copyable::new(s, &norm, &enc), enc, norm)
    }

    #[test]
    fn quantities_point_at_their_first_token() {
        let (c, enc, norm) = copyable("drive forward two meters then turn left 90 degrees");
        assert_eq!(norm.text, "drive forward 2 m then turn left 90 deg");
        assert_eq!(c.quantities.len(), 2);
        assert_eq!(enc.tokens[c.quantities[0].pos], "2");
        assert_eq!(c.quantities[0].unit, Some(Unit::Meters));
        assert_eq!(enc.tokens[c.quantities[1].pos], "90");
        assert_eq!(c.quantity_at(c.quantities[1].pos).map(|q| q.value), Some(90.0));
    }

    #[test]
    fn strings_put_quantities_back_in_the_users_words() {
        let s = "say hello world , I drove two meters !";
        let (c, enc, norm) = copyable(s);
        let start = enc.tokens.iter().position(|t| t == "hello").unwrap();
        let end = enc.len() - 2;
        assert_eq!(reconstruct(s, &norm, &enc, start, end), "hello world, i drove two meters!");
        let span = c.span(start, start + 1).unwrap();
        assert_eq!(span.text, "hello world");
        assert_eq!(span.chars, 11);
    }

    #[test]
    fn spans_respect_word_boundaries_and_length() {
        let (c, enc, _) = copyable("playing balls");
        // "play" starts a word; "##ing" does not; spans end at word ends only.
        let play = 1;
        let ends: Vec<usize> = c.spans[play].iter().map(|s| s.end).collect();
        assert_eq!(ends, [2, 4]);
        assert!(c.spans[2].is_empty());
        assert_eq!(c.span(play, 4).map(|s| s.text.as_str()), Some("playing balls"));
        assert!(c.spans[0].is_empty() && c.spans[enc.len() - 1].is_empty());

        let long = "hello ".repeat(40);
        let (c, _, _) = copyable(&long);
        assert!(c.spans.iter().flatten().all(|s| s.end < 80));
        assert!(c.spans[1].iter().all(|s| s.end - 1 < MAX_SPAN_TOKENS));
    }
}
