//! Deterministic text normalization run on every utterance before the brain
//! tokenizes it (and, through a CLI, by the Python training pipeline, so that
//! training and inference see identical text).
//!
//! [`normalize`] is a pure function of its input: it lower-cases, folds
//! typographic quotes, apostrophes and dashes to ASCII, drops symbols and
//! emoji, keeps clause punctuation (`,` `.` `!` `?`) as separate tokens
//! (sequence commas matter to the planner), and collapses whitespace. Words
//! keep their inner apostrophes: contractions and possessives are written as
//! they were ("don't", "robot's", "i'd"), because expanding them is ambiguous
//! ("he'd" = had/would, "'s" = is/possessive) and the encoder's tokenizer
//! already knows them.
//!
//! Numbers are the part a language model is worst at, so they are read here
//! and written as digits in the spec's base units (`rover-tools.md`: metres,
//! metres per second, degrees, seconds): "two and a half feet" becomes
//! `0.762 m`, "half a minute" `30 s`, "ten kilometers per hour" `2.777778 mps`.
//! Each number is reported as a [`Quantity`] with its byte span in the output
//! (so a decoder can copy it) and in the input. Conventions, chosen to follow
//! the spec and documented here because the model is trained on them:
//!
//! - cardinals "zero" to "million", "a hundred", "one hundred and twenty",
//!   "twenty-five", decimals ("one point five", "point five"), fractions
//!   ("two and a half", "one and a quarter", "three quarters of a meter",
//!   "half a meter"), "a dozen" (12), "a couple (of)" (exactly 2), signs
//!   ("minus 90", "-90"); ordinals ("second", "3rd"), "once", "twice", "a few"
//!   and "a bit" stay words: they are the model's to read;
//! - an article before a full unit word is one of it: "a meter" and "one
//!   meter" both become `1 m`, "a moment" and "a second" become `1 s` (the
//!   spec's convention), but "a second" only where it ends the clause
//!   ("wait a second", not "a second time"), and an article never makes an
//!   abbreviation a unit ("a m" stays words);
//! - a lone "one" after a determiner or adjective ("the red one", "this one")
//!   is a pronoun and stays a word;
//! - "in" after a number is inches only when no noun phrase or number follows
//!   ("6 in" and "6 in." are inches, "3 in a row" and "2 in reverse" are not);
//! - a comma between digits is a thousands separator only before exactly
//!   three digits ("1,500"); otherwise it separates ("2,5" is 2 and 5);
//! - direction stays in words: "left 90 degrees" is `left 90 deg`, never
//!   `-90`, because the sign convention is the tool's, which the model knows;
//! - values are rounded to 6 decimals (whole numbers from a billion up) and
//!   printed in Rust's shortest round-trip form, so 3 ft is `0.9144 m`.
//!
//! The output is a fixed point: normalizing normalized text changes nothing.
//! Any input is accepted (empty, binary garbage decoded lossily, emoji, other
//! scripts); the work is linear in its length and never panics.

mod lexer;
mod parse;
mod units;
mod vocab;

use serde::{Deserialize, Serialize};

use lexer::Kind;
use parse::{Parsed, Parser};

pub use units::Unit;

/// A number found in the utterance, already in base units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// The value in `unit` (or a bare count when `unit` is `None`).
    pub value: f64,
    /// The base unit the value was converted to, if a unit was said.
    pub unit: Option<Unit>,
    /// Byte range of the number's digits in [`Normalized::text`] (the unit
    /// symbol, if any, follows after one space).
    pub span: (usize, usize),
    /// Byte range in the original text of the words the quantity was read
    /// from ("two and a half feet"), for copying the user's own wording.
    pub source: (usize, usize),
}

/// The normalized utterance and the numbers in it, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Normalized {
    pub text: String,
    pub numbers: Vec<Quantity>,
}

/// Normalizes one utterance; see the [module documentation](self) for the rules.
pub fn normalize(text: &str) -> Normalized {
    let tokens = lexer::lex(text);
    let parser = Parser::new(&tokens);
    let mut out = Output::default();
    let mut i = 0;
    while let Some(tok) = tokens.get(i) {
        match tok.kind {
            Kind::Punct => {
                out.punct(&tok.text);
                i += 1;
            }
            Kind::Sym => {
                out.word(&tok.text);
                i += 1;
            }
            Kind::Word | Kind::Number(_) => match parser.quantity(i, out.last_word()) {
                Some(q) if q.end > i => {
                    let end_src = tokens.get(q.end - 1).map_or(tok.src.1, |t| t.src.1);
                    out.quantity(q, (tok.src.0, end_src));
                    i = q.end;
                }
                _ => {
                    let words = parser.sign_words(i).max(1);
                    for t in tokens.iter().skip(i).take(words) {
                        out.word(&t.text);
                    }
                    i += words;
                }
            },
        }
    }
    Normalized { text: out.text, numbers: out.numbers }
}

/// What was last written, for the punctuation and pronoun rules.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum LastOut {
    #[default]
    Nothing,
    Word,
    Punct,
    Number,
}

#[derive(Default)]
struct Output {
    text: String,
    numbers: Vec<Quantity>,
    last: LastOut,
    last_word_start: usize,
}

impl Output {
    fn space(&mut self) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
    }

    fn word(&mut self, w: &str) {
        self.space();
        self.last_word_start = self.text.len();
        self.text.push_str(w);
        self.last = LastOut::Word;
    }

    /// Clause punctuation is kept once between words: never first, never
    /// repeated ("?!" and "..." keep their first mark).
    fn punct(&mut self, p: &str) {
        if matches!(self.last, LastOut::Word | LastOut::Number) {
            self.space();
            self.text.push_str(p);
            self.last = LastOut::Punct;
        }
    }

    fn quantity(&mut self, q: Parsed, source: (usize, usize)) {
        self.space();
        let start = self.text.len();
        self.text.push_str(&q.value.to_string());
        let span = (start, self.text.len());
        if let Some(unit) = q.unit {
            self.text.push(' ');
            self.text.push_str(unit.symbol());
        }
        self.numbers.push(Quantity { value: q.value, unit: q.unit, span, source });
        self.last = LastOut::Number;
    }

    fn last_word(&self) -> &str {
        match self.last {
            LastOut::Word => self.text.get(self.last_word_start..).unwrap_or(""),
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_texts(s: &str) -> Vec<String> {
        lexer::lex(s).into_iter().map(|t: lexer::Token| t.text).collect()
    }

    #[test]
    fn lexer_keeps_contractions_hyphenated_words_and_signed_decimals() {
        assert_eq!(lex_texts("Don't U-turn -2.5m"), ["don't", "u-turn", "-2.5", "m"]);
        assert_eq!(lex_texts("twenty-five 1,500 2,5"), ["twenty", "five", "1,500", "2", ",", "5"]);
    }

    #[test]
    fn canonical_rounds_noise_and_negative_zero() {
        assert_eq!(parse::canonical(3.0 * 0.3048), 0.9144);
        assert_eq!(parse::canonical(-0.0).to_string(), "0");
        assert_eq!(parse::canonical(1e-7), 0.0);
    }
}
