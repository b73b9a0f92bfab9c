//! The spec's base units and every spelling the normalizer converts to them.
//!
//! The rover's tools take metres, metres per second, degrees and seconds
//! (`shared/spec/rover-tools.md`), so every recognised unit word maps to one
//! of those four with a factor; the normalizer multiplies the number by the
//! factor and writes the base unit's short symbol. Base symbols are
//! themselves spellings here, which is what makes normalization idempotent.

use serde::{Deserialize, Serialize};

/// A base unit of the tool arguments, printed after a converted number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Unit {
    /// Metres (`m`): distances.
    #[serde(rename = "m")]
    Meters,
    /// Metres per second (`mps`): speeds.
    #[serde(rename = "mps")]
    MetersPerSecond,
    /// Degrees (`deg`): angles; the sign stays in the direction words.
    #[serde(rename = "deg")]
    Degrees,
    /// Seconds (`s`): durations.
    #[serde(rename = "s")]
    Seconds,
}

impl Unit {
    /// The token written after the number in normalized text.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Meters => "m",
            Unit::MetersPerSecond => "mps",
            Unit::Degrees => "deg",
            Unit::Seconds => "s",
        }
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.symbol())
    }
}

/// One way of writing a unit: what it converts to and by how much.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Spelling {
    pub unit: Unit,
    /// Multiply a value in this unit by `factor` to get the base unit.
    pub factor: f64,
    /// Abbreviations ("m", "ft") are units only after a number, never after
    /// "a" ("a m" is not "1 m").
    pub abbrev: bool,
}

const fn sp(unit: Unit, factor: f64, abbrev: bool) -> Spelling {
    Spelling { unit, factor, abbrev }
}

/// Looks up a single-token unit spelling (compound speeds such as
/// "meters per second" are assembled by the parser from a length and a time).
pub(crate) fn spelling(w: &str) -> Option<Spelling> {
    use Unit::*;
    Some(match w {
        "meter" | "meters" | "metre" | "metres" => sp(Meters, 1.0, false),
        "m" => sp(Meters, 1.0, true),
        "centimeter" | "centimeters" | "centimetre" | "centimetres" => sp(Meters, 0.01, false),
        "cm" | "cms" => sp(Meters, 0.01, true),
        "millimeter" | "millimeters" | "millimetre" | "millimetres" => sp(Meters, 0.001, false),
        "mm" => sp(Meters, 0.001, true),
        "kilometer" | "kilometers" | "kilometre" | "kilometres" => sp(Meters, 1000.0, false),
        "km" | "kms" => sp(Meters, 1000.0, true),
        "foot" | "feet" => sp(Meters, 0.3048, false),
        "ft" => sp(Meters, 0.3048, true),
        "inch" | "inches" => sp(Meters, 0.0254, false),
        "in" => sp(Meters, 0.0254, true),
        "yard" | "yards" => sp(Meters, 0.9144, false),
        "yd" | "yds" => sp(Meters, 0.9144, true),
        "mile" | "miles" => sp(Meters, 1609.344, false),
        "mps" => sp(MetersPerSecond, 1.0, true),
        "kph" | "kmh" | "kmph" => sp(MetersPerSecond, 1.0 / 3.6, true),
        "mph" => sp(MetersPerSecond, 0.44704, true),
        "degree" | "degrees" => sp(Degrees, 1.0, false),
        "deg" | "degs" | "°" => sp(Degrees, 1.0, true),
        "second" | "seconds" | "sec" | "secs" => sp(Seconds, 1.0, false),
        "s" => sp(Seconds, 1.0, true),
        "millisecond" | "milliseconds" => sp(Seconds, 0.001, false),
        "ms" => sp(Seconds, 0.001, true),
        "minute" | "minutes" | "min" | "mins" => sp(Seconds, 60.0, false),
        "hour" | "hours" => sp(Seconds, 3600.0, false),
        "h" | "hr" | "hrs" => sp(Seconds, 3600.0, true),
        // The spec's convention: "a moment" is one second.
        "moment" | "moments" => sp(Seconds, 1.0, false),
        _ => return None,
    })
}

/// The time unit after "per", "a" or "/" in a speed ("meters per second").
pub(crate) fn per_time(w: &str) -> Option<f64> {
    match w {
        "second" | "sec" | "s" => Some(1.0),
        "minute" | "min" => Some(60.0),
        "hour" | "hr" | "h" => Some(3600.0),
        _ => None,
    }
}

/// Whether a suffix glued to digits ("50cm", "2.5m", "30s") is a unit, so the
/// token is split rather than kept as a word like "1st" or "3d".
pub(crate) fn is_glued_unit(w: &str) -> bool {
    spelling(w).is_some()
}
