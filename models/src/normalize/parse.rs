//! Reads one quantity (a number, possibly spelled out, with an optional unit)
//! starting at a token, and converts it to the spec's base units.
//!
//! A quantity is read in stages that mirror how its normalized form will be
//! read again, which is what keeps [`super::normalize`] idempotent: an
//! optional sign word ("minus"), then either a fraction of a unit ("half a
//! minute", "a quarter of a mile"), an article before a unit ("a meter"), or
//! a number. A number is a *core* (digits, a spelled-out cardinal, "a
//! hundred", "a dozen", "a couple of", "point five") followed by *postfix*
//! operations that apply to any core, digits included (scale words, "point"
//! decimals, "and a half"); the postfix loop runs until nothing applies, so a
//! printed result never has a postfix left that a second pass would apply.
//! After the number come an optional fraction ("three quarters of a meter")
//! and unit, and after the unit a tail ("and a half", or a smaller unit of
//! the same kind: "1 minute 30 seconds", "5 feet 6 inches"). Every stage
//! consumes at least one token or gives up after a bounded look-ahead, so a
//! whole utterance is read in linear time.

use super::lexer::{Kind, Token};
use super::units::{per_time, spelling, Unit};
use super::vocab::{
    blocks_inch, digit_word, ends_a_second, makes_one_a_pronoun, ordinal_noun, postfix_scale, scale, small_number,
};

/// No quantity reaches this: the lexer leaves longer digit strings words, so
/// a printed quantity must stay below it to be read back as a number.
const MAX_ABS: f64 = 1e15;

/// Rounds conversion noise away: six decimals below a billion (3 ft is
/// 0.9144 m, not 0.9144000000000001), whole numbers above, and no "-0".
/// Stable under re-reading its own printed form, which idempotence needs.
pub(crate) fn canonical(v: f64) -> f64 {
    let r = if v.abs() < 1e9 { (v * 1e6).round() / 1e6 } else { v.round() };
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// A quantity read from tokens `start..end`, value already in base units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Parsed {
    pub value: f64,
    pub unit: Option<Unit>,
    pub end: usize,
}

/// A unit read from tokens, ending before `end`.
#[derive(Clone, Copy, Debug)]
struct UnitMatch {
    unit: Unit,
    factor: f64,
    end: usize,
}

/// Where a spelled-out cardinal stands, to refuse "two three" or "twenty twelve".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Last {
    Start,
    Zero,
    Unit,
    Teen,
    Tens,
    Hundred,
    Scale,
    And,
}

pub(crate) struct Parser<'a> {
    toks: &'a [Token],
}

impl<'a> Parser<'a> {
    pub(crate) fn new(toks: &'a [Token]) -> Self {
        Parser { toks }
    }

    /// The word at `j`, or "" for anything else (number, punctuation, end).
    fn word(&self, j: usize) -> &str {
        match self.toks.get(j) {
            Some(t) if t.kind == Kind::Word => &t.text,
            _ => "",
        }
    }

    fn number_token(&self, j: usize) -> Option<f64> {
        match self.toks.get(j) {
            Some(Token { kind: Kind::Number(v), .. }) => Some(*v),
            _ => None,
        }
    }

    fn is_sym(&self, j: usize, s: &str) -> bool {
        self.toks.get(j).is_some_and(|t| t.kind == Kind::Sym && t.text == s)
    }

    /// End of text or clause punctuation.
    fn at_boundary(&self, j: usize) -> bool {
        self.toks.get(j).is_none_or(|t| t.kind == Kind::Punct)
    }

    /// Reads a quantity starting at `i`; `prev_word` is the last word already
    /// written to the output (it decides whether a lone "one" is a pronoun).
    pub(crate) fn quantity(&self, i: usize, prev_word: &str) -> Option<Parsed> {
        let signs = self.sign_words(i);
        if signs > 0 {
            // Each sign word negates ("minus -2" is 2), so that a sign word
            // before printed digits reads the same the second time.
            let p = self.unsigned(i + signs)?;
            let value = if signs % 2 == 1 { -p.value } else { p.value };
            return Some(Parsed { value: canonical(value), ..p });
        }
        let p = self.unsigned(i)?;
        if p.end == i + 1 && p.unit.is_none() && self.word(i) == "one" && makes_one_a_pronoun(prev_word) {
            return None;
        }
        Some(p)
    }

    /// How many sign words ("minus", "negative") start at `i`; when they do
    /// not lead to a quantity the caller writes them all as words at once,
    /// which keeps a long run of them linear.
    pub(crate) fn sign_words(&self, i: usize) -> usize {
        let mut k = 0;
        while matches!(self.word(i + k), "minus" | "negative") {
            k += 1;
        }
        k
    }

    fn unsigned(&self, i: usize) -> Option<Parsed> {
        if let Some(p) = self.fraction_prefix(i) {
            return Some(p);
        }
        if let Some(p) = self.article_unit(i) {
            return Some(p);
        }
        let (v, j) = self.core(i)?;
        Some(self.after_core(v, j))
    }

    /// "half a meter", "a half meter", "quarter of a mile", "half a dozen".
    fn fraction_prefix(&self, i: usize) -> Option<Parsed> {
        let (frac, j) = match (self.word(i), self.word(i + 1)) {
            ("half", _) => (0.5, i + 1),
            ("quarter", _) => (0.25, i + 1),
            ("a" | "an" | "one", "half") => (0.5, i + 2),
            ("a" | "one", "quarter") => (0.25, i + 2),
            _ => return None,
        };
        self.fraction_tail(frac, j)
    }

    /// After a fraction: `[of] [a|an] unit` or `[of] [a|an] dozen`; `None`
    /// when no unit follows ("half a turn" is the model's to read).
    fn fraction_tail(&self, frac: f64, mut j: usize) -> Option<Parsed> {
        if self.word(j) == "of" {
            j += 1;
        }
        if matches!(self.word(j), "a" | "an") {
            j += 1;
        }
        if self.word(j) == "dozen" {
            return Some(self.after_core(frac * 12.0, j + 1));
        }
        self.unit(j, false).and_then(|m| self.unit_tail(frac, m))
    }

    /// "a meter", "an hour", "a moment", "a second" (only where it ends the clause).
    fn article_unit(&self, i: usize) -> Option<Parsed> {
        if !matches!(self.word(i), "a" | "an") {
            return None;
        }
        self.unit(i + 1, true).and_then(|m| self.unit_tail(1.0, m))
    }

    /// Everything after a number's core: postfixes, a fraction of a unit, a unit.
    fn after_core(&self, v: f64, j: usize) -> Parsed {
        let (v, j) = self.postfix(v, j);
        if let Some(p) = self.fraction_of_unit(v, j) {
            return p;
        }
        match self.unit(j, false).and_then(|m| self.unit_tail(v, m)) {
            Some(p) => p,
            None => Parsed { value: canonical(v), unit: None, end: j },
        }
    }

    /// A whole number without unit: core plus postfixes.
    fn number(&self, i: usize) -> Option<(f64, usize)> {
        let (v, j) = self.core(i)?;
        Some(self.postfix(v, j))
    }

    fn core(&self, i: usize) -> Option<(f64, usize)> {
        if let Some(v) = self.number_token(i) {
            return Some((v, i + 1));
        }
        match self.word(i) {
            "a" | "an" => match self.word(i + 1) {
                "hundred" | "thousand" | "million" => self.cardinal(i + 1, 1.0, Last::Unit),
                // The postfix loop multiplies by the dozen.
                "dozen" => Some((1.0, i + 1)),
                // "a couple (of)" is read as exactly two.
                "couple" => Some((2.0, if self.word(i + 2) == "of" { i + 3 } else { i + 2 })),
                _ => None,
            },
            "point" => self.decimals(i + 1),
            w if small_number(w).is_some() => self.cardinal(i, 0.0, Last::Start),
            _ => None,
        }
    }

    /// A spelled-out cardinal from `j`, given what was read before it.
    fn cardinal(&self, mut j: usize, mut current: f64, mut last: Last) -> Option<(f64, usize)> {
        let mut total = 0.0;
        let mut hundred = false;
        let mut last_scale = f64::INFINITY;
        loop {
            let w = self.word(j);
            if let Some(n) = small_number(w) {
                let (ok, kind) = match n {
                    0 => (last == Last::Start, Last::Zero),
                    1..=9 => {
                        (matches!(last, Last::Start | Last::Tens | Last::Hundred | Last::Scale | Last::And), Last::Unit)
                    }
                    10..=19 => (matches!(last, Last::Start | Last::Hundred | Last::Scale | Last::And), Last::Teen),
                    _ => (matches!(last, Last::Start | Last::Hundred | Last::Scale | Last::And), Last::Tens),
                };
                if !ok {
                    break;
                }
                current += f64::from(n);
                last = kind;
            } else if w == "hundred" {
                if hundred || current >= 100.0 || !matches!(last, Last::Unit | Last::Teen | Last::Tens) {
                    break;
                }
                current *= 100.0;
                hundred = true;
                last = Last::Hundred;
            } else if let Some(s) = scale(w) {
                let ok = matches!(last, Last::Unit | Last::Teen | Last::Tens | Last::Hundred);
                if !ok || s >= last_scale || current <= 0.0 {
                    break;
                }
                total += current * s;
                current = 0.0;
                last_scale = s;
                hundred = false;
                last = Last::Scale;
            } else if w == "and" {
                // Only "hundred and five", "thousand and twenty": never "two and three".
                let next_ok = small_number(self.word(j + 1)).is_some_and(|n| n > 0);
                if !matches!(last, Last::Hundred | Last::Scale) || !next_ok {
                    break;
                }
                last = Last::And;
            } else {
                break;
            }
            j += 1;
        }
        (last != Last::Start).then_some((total + current, j))
    }

    /// Digit words after "point": "five" -> 0.5, "oh five" -> 0.05.
    fn decimals(&self, mut j: usize) -> Option<(f64, usize)> {
        let mut digits = String::from("0.");
        while let Some(d) = digit_word(self.word(j)) {
            digits.push(d);
            j += 1;
        }
        if digits.len() == 2 {
            return None;
        }
        digits.parse().ok().map(|f| (f, j))
    }

    /// "and a half", "and one quarter", "and three quarters".
    fn and_fraction(&self, j: usize) -> Option<f64> {
        if self.word(j) != "and" {
            return None;
        }
        match (self.word(j + 1), self.word(j + 2)) {
            ("a" | "one", "half") => Some(0.5),
            ("a" | "one", "quarter") => Some(0.25),
            ("three", "quarters") => Some(0.75),
            _ => None,
        }
    }

    /// Operations that continue any number, run until none applies.
    fn postfix(&self, v: f64, mut j: usize) -> (f64, usize) {
        let mut v = canonical(v);
        let away_from_zero = |v: f64, f: f64| if v < 0.0 { v - f } else { v + f };
        loop {
            let w = self.word(j);
            if let Some(s) = postfix_scale(w) {
                if (v * s).abs() >= MAX_ABS {
                    break;
                }
                v = canonical(v * s);
                j += 1;
            } else if let Some((f, k)) = (w == "point" && v.fract() == 0.0).then(|| self.decimals(j + 1)).flatten() {
                v = canonical(away_from_zero(v, f));
                j = k;
            } else if let Some(f) = self.and_fraction(j) {
                v = canonical(away_from_zero(v, f));
                j += 3;
            } else {
                break;
            }
        }
        (v, j)
    }

    /// "three quarters of a meter", "two halves of an hour".
    fn fraction_of_unit(&self, v: f64, j: usize) -> Option<Parsed> {
        let frac = match self.word(j) {
            "half" | "halves" => 0.5,
            "quarter" | "quarters" => 0.25,
            _ => return None,
        };
        self.fraction_tail(v * frac, j + 1)
    }

    /// A unit at `j`: a single word, or a speed built from a length and a
    /// time ("meters per second", "km/h", "feet a minute"). After an article
    /// (`after_article`), abbreviations are not units and "second" must end
    /// the clause.
    fn unit(&self, j: usize, after_article: bool) -> Option<UnitMatch> {
        let w = self.word(j);
        let w = if w.is_empty() && self.is_sym(j, "°") { "°" } else { w };
        let sp = spelling(w)?;
        if after_article && sp.abbrev {
            return None;
        }
        if w == "in" && (self.number_token(j + 1).is_some() || blocks_inch(self.word(j + 1))) {
            return None;
        }
        if sp.unit == Unit::Meters {
            let conn = self.word(j + 1);
            let article = matches!(conn, "a" | "an");
            if conn == "per" || article || self.is_sym(j + 1, "/") {
                let t = self.word(j + 2);
                if let Some(secs) = per_time(t) {
                    // After a length, "a second" is a rate unless a noun
                    // makes it the ordinal ("2 meters a second time").
                    let spoken = !article || (t.len() > 2 && (t != "second" || !ordinal_noun(self.word(j + 3))));
                    if spoken {
                        return Some(UnitMatch { unit: Unit::MetersPerSecond, factor: sp.factor / secs, end: j + 3 });
                    }
                }
            }
        }
        if after_article && w == "second" && !self.ends_a_second(j + 1) {
            return None;
        }
        Some(UnitMatch { unit: sp.unit, factor: sp.factor, end: j + 1 })
    }

    fn ends_a_second(&self, k: usize) -> bool {
        self.at_boundary(k) || ends_a_second(self.word(k))
    }

    /// Converts `v` (in the matched unit) to base units and reads what may
    /// follow a unit: "and a half" or a smaller unit of the same kind.
    /// `None` when the result is too large to print as a number that the
    /// lexer reads back (the unit word then stays a word).
    fn unit_tail(&self, v: f64, m: UnitMatch) -> Option<Parsed> {
        let fits = |b: f64| canonical(b).abs() < MAX_ABS;
        let sign = if v < 0.0 { -1.0 } else { 1.0 };
        let mut base = v * m.factor;
        if !fits(base) {
            return None;
        }
        let mut factor = m.factor;
        let mut j = m.end;
        loop {
            // A step that would overflow is left for the caller to read anew.
            if let Some(f) = self.and_fraction(j) {
                let next = base + sign * f * factor;
                if !fits(next) {
                    break;
                }
                base = next;
                j += 3;
                continue;
            }
            if matches!(m.unit, Unit::Meters | Unit::Seconds) {
                let k = if self.word(j) == "and" { j + 1 } else { j };
                let smaller = self.number(k).filter(|&(n, _)| n >= 0.0).and_then(|(n, k2)| {
                    self.unit(k2, false).filter(|u| u.unit == m.unit && u.factor < factor).map(|u| (n, u))
                });
                if let Some((n, u)) = smaller.filter(|(n, u)| fits(base + sign * n * u.factor)) {
                    base += sign * n * u.factor;
                    factor = u.factor;
                    j = u.end;
                    continue;
                }
            }
            break;
        }
        Some(Parsed { value: canonical(base), unit: Some(m.unit), end: j })
    }
}
