//! Turns raw text into lower-case tokens: words, numbers written in digits,
//! clause punctuation and the two symbols units need (`/` and `°`).
//!
//! Folding happens here, one input character at a time, so each token keeps
//! the byte span of the input it came from: typographic quotes, apostrophes
//! and dashes become their ASCII forms, `&` becomes "and", `%` "percent",
//! and every character that is neither part of a word nor meaningful
//! punctuation becomes a boundary. A word keeps inner apostrophes ("don't",
//! "robot's") and inner hyphens ("u-turn"); a hyphenated word is split when
//! it is made of number or unit words ("twenty-five", "2-meter"). Digits may
//! carry a leading minus ("-90"), one decimal point ("2.5", ".5") and
//! thousands commas ("1,500"; a comma not followed by exactly three digits
//! separates, so "2,5" is two numbers); digits glued to a unit ("50cm") are
//! split into number and unit.

use super::units::is_glued_unit;
use super::vocab::is_number_vocab;

/// What a token is; the parser dispatches on it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Word,
    /// Digits, with their value already read.
    Number(f64),
    /// `,` `.` `!` `?` (`;` is folded into `,`).
    Punct,
    /// `/` or `°`: kept as words when they are not part of a unit.
    Sym,
}

/// A lower-case token and the byte span of the input it was read from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub text: String,
    pub src: (usize, usize),
}

/// Digit strings with more integer digits than this stay words: beyond it an
/// `f64` no longer holds every integer, and nobody drives that far.
const MAX_INT_DIGITS: usize = 15;

/// A folded, lower-cased character with the span of its source character.
#[derive(Clone, Copy)]
struct FChar {
    c: char,
    src: (usize, usize),
}

/// What one input character folds to before lower-casing.
enum Fold {
    Char(char),
    Text(&'static str),
    Boundary,
}

fn fold(c: char) -> Fold {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{02BC}' | '\u{2032}' | '`' | '\u{00B4}' => Fold::Char('\''),
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => Fold::Char('-'),
        '\u{2026}' | '\u{3002}' | '\u{FF0E}' => Fold::Char('.'),
        '\u{FF0C}' | '\u{3001}' => Fold::Char(','),
        '\u{FF01}' => Fold::Char('!'),
        '\u{FF1F}' => Fold::Char('?'),
        '\u{00BA}' | '\u{02DA}' => Fold::Char('°'),
        '&' => Fold::Text(" and "),
        '%' => Fold::Text(" percent "),
        // Lower-casing 'İ' would leave a combining dot that splits the word.
        '\u{0130}' => Fold::Char('i'),
        c if c.is_alphanumeric() || is_mark(c) => Fold::Char(c),
        '\'' | '-' | '.' | ',' | ';' | '!' | '?' | '/' | '°' => Fold::Char(c),
        // Quotes, brackets, em dashes, emoji, control characters, spaces...
        _ => Fold::Boundary,
    }
}

/// Combining marks (decomposed accents): part of the word they follow.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Characters that make up words.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_mark(c)
}

fn fold_all(input: &str) -> Vec<FChar> {
    let mut out = Vec::with_capacity(input.len());
    for (start, c) in input.char_indices() {
        let src = (start, start + c.len_utf8());
        match fold(c) {
            Fold::Char(c) => out.extend(c.to_lowercase().map(|c| FChar { c, src })),
            Fold::Text(t) => out.extend(t.chars().map(|c| FChar { c, src })),
            Fold::Boundary => out.push(FChar { c: ' ', src }),
        }
    }
    out
}

/// Splits text into tokens; never fails, linear in the input length.
pub(crate) fn lex(input: &str) -> Vec<Token> {
    let chars = fold_all(input);
    let mut lexer = Lexer { tokens: Vec::new(), cur: String::new(), cur_src: Vec::new() };
    let at = |i: usize| chars.get(i).map(|f| f.c);
    let digit_at = |i: usize| at(i).is_some_and(|c| c.is_ascii_digit());
    for (i, f) in chars.iter().enumerate() {
        let c = f.c;
        let prev = lexer.cur.chars().last();
        let prev_alnum = prev.is_some_and(is_word_char);
        // A joiner needs a letter or digit after it, not a mark it could lose.
        let next_alnum = at(i + 1).is_some_and(char::is_alphanumeric);
        let keep = if c.is_alphanumeric() {
            true
        } else if is_mark(c) {
            prev_alnum
        } else {
            match c {
                '\'' => prev_alnum && next_alnum,
                '-' => {
                    (lexer.cur.is_empty() && (digit_at(i + 1) || (at(i + 1) == Some('.') && digit_at(i + 2))))
                        || (prev_alnum && next_alnum)
                }
                '.' => {
                    (prev.is_some_and(|p| p.is_ascii_digit()) && digit_at(i + 1))
                        || ((lexer.cur.is_empty() || lexer.cur == "-") && digit_at(i + 1))
                }
                ',' => thousands_so_far(&lexer.cur) && (1..=3).all(|k| digit_at(i + k)) && !digit_at(i + 4),
                _ => false,
            }
        };
        if keep {
            lexer.cur.push(c);
            lexer.cur_src.push(f.src);
            continue;
        }
        lexer.flush();
        match c {
            ',' | ';' => lexer.push(Kind::Punct, ",", f.src),
            '.' | '!' | '?' => lexer.push(Kind::Punct, &c.to_string(), f.src),
            '/' | '°' => lexer.push(Kind::Sym, &c.to_string(), f.src),
            _ => {}
        }
    }
    lexer.flush();
    lexer.tokens
}

/// Whether the token so far reads as digits with well-placed thousands
/// commas ("1", "12,345"), so that another ",ddd" group may follow.
fn thousands_so_far(cur: &str) -> bool {
    let body = cur.strip_prefix('-').unwrap_or(cur);
    let mut groups = body.split(',');
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
    first_ok && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

struct Lexer {
    tokens: Vec<Token>,
    cur: String,
    /// Source span of each char of `cur`, to give split parts their spans.
    cur_src: Vec<(usize, usize)>,
}

impl Lexer {
    fn push(&mut self, kind: Kind, text: &str, src: (usize, usize)) {
        self.tokens.push(Token { kind, text: text.to_string(), src });
    }

    /// Ends the current word: splits it where needed and classifies the parts.
    fn flush(&mut self) {
        if self.cur.is_empty() {
            return;
        }
        let chars: Vec<char> = self.cur.chars().collect();
        let src = std::mem::take(&mut self.cur_src);
        self.cur.clear();
        // Hyphens after the first char join parts; a first-char '-' is a sign.
        let mut parts: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for (k, &c) in chars.iter().enumerate() {
            if c == '-' && k > 0 {
                parts.push((start, k));
                start = k + 1;
            }
        }
        parts.push((start, chars.len()));
        let text_of = |(a, b): (usize, usize)| chars[a..b].iter().collect::<String>();
        let span_of = |(a, b): (usize, usize)| (src[a].0, src[b - 1].1);
        let split = parts.len() > 1 && {
            let texts: Vec<String> = parts.iter().map(|&p| text_of(p)).collect();
            texts.iter().any(|t| t.bytes().any(|b| b.is_ascii_digit()))
                || texts.iter().all(|t| is_number_vocab(t) || is_glued_unit(t))
        };
        if split {
            for &p in parts.iter().filter(|(a, b)| a < b) {
                self.classify(&text_of(p), &chars[p.0..p.1], &src[p.0..p.1], span_of(p));
            }
        } else {
            let all = (0, chars.len());
            self.classify(&text_of(all), &chars, &src, span_of(all));
        }
    }

    /// Emits one hyphen-free piece as a number, a number plus unit, or a word.
    fn classify(&mut self, text: &str, chars: &[char], src: &[(usize, usize)], span: (usize, usize)) {
        match scan_number(chars) {
            Some((value, len)) if len == chars.len() => self.push(Kind::Number(value), text, span),
            Some((value, len)) => {
                let suffix: String = chars[len..].iter().collect();
                if is_glued_unit(&suffix) {
                    let number: String = chars[..len].iter().collect();
                    self.push(Kind::Number(value), &number, (src[0].0, src[len - 1].1));
                    self.push(Kind::Word, &suffix, (src[len].0, span.1));
                } else {
                    // Thousands commas only make sense inside a number.
                    self.push(Kind::Word, &text.replace(',', ""), span);
                }
            }
            None => self.push(Kind::Word, &text.replace(',', ""), span),
        }
    }
}

/// Reads `-?d*(,ddd)*(.d+)?` from the start of a token (at least one digit)
/// and returns its value and length in chars; `None` when the token does not
/// start with a number or its integer part is too long to hold exactly.
fn scan_number(chars: &[char]) -> Option<(f64, usize)> {
    let mut i = 0;
    let mut clean = String::new();
    if chars.first() == Some(&'-') {
        clean.push('-');
        i = 1;
    }
    let mut int_digits = String::new();
    while let Some(&c) = chars.get(i) {
        if c.is_ascii_digit() {
            int_digits.push(c);
        } else if c != ',' {
            break;
        }
        i += 1;
    }
    let mut frac_digits = String::new();
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        i += 1;
        while let Some(&c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
            frac_digits.push(c);
            i += 1;
        }
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    if int_digits.trim_start_matches('0').len() > MAX_INT_DIGITS {
        return None;
    }
    clean.push_str(if int_digits.is_empty() { "0" } else { &int_digits });
    if !frac_digits.is_empty() {
        clean.push('.');
        clean.push_str(&frac_digits);
    }
    let value: f64 = clean.parse().ok()?;
    Some((value, i))
}
