//! Behaviour of the utterance normalizer: a table of phrasings (written for
//! these tests, not taken from the evaluation set) with their exact
//! normalized text, checks of the reported quantities, and property tests
//! for robustness, idempotence and spans.

use proptest::prelude::*;
use robot_models::normalize::{normalize, Quantity, Unit};

/// (input, expected normalized text).
const CASES: &[(&str, &str)] = &[
    // Case, whitespace, punctuation, quotes, contractions.
    ("", ""),
    ("   \t\n  ", ""),
    ("Scoot  FORWARD\tNow", "scoot forward now"),
    ("Don\u{2019}t bump the robot\u{2019}s dock!", "don't bump the robot's dock !"),
    ("Say \u{201C}beep boop\u{201D}, then nap.", "say beep boop , then nap ."),
    ("what?!? really...", "what ? really ."),
    ("first; second: third", "first , second third"),
    ("(quietly) roll on \u{2014} okay", "quietly roll on okay"),
    ("rock & roll", "rock and roll"),
    ("set it to 40%", "set it to 40 percent"),
    ("do a U-turn by the X-ray machine", "do a u-turn by the x-ray machine"),
    ("... , leading marks go", "leading marks go"),
    ("\u{1F916} beep \u{1F600}", "beep"),
    // Cardinals.
    ("roll zero meters", "roll 0 m"),
    ("hop eleven times", "hop 11 times"),
    ("scoot forty-two centimeters", "scoot 0.42 m"),
    ("back off ninety nine inches", "back off 2.5146 m"),
    ("count one two three", "count 1 2 3"),
    ("ninety twelve", "90 12"),
    ("a hundred steps", "100 steps"),
    ("one hundred and twenty degrees", "120 deg"),
    ("two thousand three hundred and four", "2304"),
    ("fifteen hundred millimeters", "1.5 m"),
    ("a thousand and one nights", "1001 nights"),
    ("three million", "3000000"),
    ("4 hundred", "400"),
    ("1.5 thousand", "1500"),
    ("a dozen cups", "12 cups"),
    ("two dozen cups", "24 cups"),
    ("bring a couple of pens", "bring 2 pens"),
    ("rest a couple minutes", "rest 120 s"),
    ("fourty seconds", "40 s"),
    // Decimals and fractions.
    ("creep one point five meters", "creep 1.5 m"),
    ("crawl point seven five meters", "crawl 0.75 m"),
    ("zero point oh two", "0.02"),
    ("shuffle two and a half yards", "shuffle 2.286 m"),
    ("one and a quarter", "1.25"),
    ("four and three quarters", "4.75"),
    ("2 and a half", "2.5"),
    ("inch ahead half a meter", "inch ahead 0.5 m"),
    ("a half meter", "0.5 m"),
    ("three quarters of a meter", "0.75 m"),
    ("a quarter of a mile", "402.336 m"),
    ("nap for half an hour", "nap for 1800 s"),
    ("half a dozen", "6"),
    ("a meter and a half", "1.5 m"),
    ("two feet and a half", "0.762 m"),
    // Digits.
    ("roll 2.5 m", "roll 2.5 m"),
    ("roll .5 m", "roll 0.5 m"),
    ("travel 1,250 mm", "travel 1.25 m"),
    ("values 2,5", "values 2 , 5"),
    ("007 agents", "7 agents"),
    ("the 3rd door and the 21st shelf", "the 3rd door and the 21st shelf"),
    // Signs: direction words stay words.
    ("rotate -90 degrees", "rotate -90 deg"),
    ("rotate minus forty five degrees", "rotate -45 deg"),
    ("negative two meters", "-2 m"),
    ("swing \u{2212}30\u{00B0}", "swing -30 deg"),
    ("veer left 30 degrees", "veer left 30 deg"),
    // Distances.
    ("scoot 50 centimetres", "scoot 0.5 m"),
    ("nudge 15cm", "nudge 0.15 m"),
    ("go 250 millimeters", "go 0.25 m"),
    ("walk three feet", "walk 0.9144 m"),
    ("walk one foot", "walk 0.3048 m"),
    ("step 10 ft", "step 3.048 m"),
    ("reach 6 inches", "reach 0.1524 m"),
    ("reach 4 in.", "reach 0.1016 m ."),
    ("stack 3 in a row", "stack 3 in a row"),
    ("spin twice in place", "spin twice in place"),
    ("back 2 in reverse", "back 2 in reverse"),
    ("trot 5 yards", "trot 4.572 m"),
    ("trek 2 km", "trek 2000 m"),
    ("move 5 feet 6 inches", "move 1.6764 m"),
    ("move 1 meter and 20 centimeters", "move 1.2 m"),
    ("a meter", "1 m"),
    ("one meter", "1 m"),
    ("a m", "a m"),
    // Speeds.
    ("cruise at 0.3 meters per second", "cruise at 0.3 mps"),
    ("cruise at 0.3 m/s", "cruise at 0.3 mps"),
    ("cruise at 0.3 mps", "cruise at 0.3 mps"),
    ("cruise at 36 km/h", "cruise at 10 mps"),
    ("cruise at nine kilometres an hour", "cruise at 2.5 mps"),
    ("cruise at 18 kph", "cruise at 5 mps"),
    ("cruise at 20 centimeters per second", "cruise at 0.2 mps"),
    ("cruise at 10 mph", "cruise at 4.4704 mps"),
    ("cruise at 60 meters a minute", "cruise at 1 mps"),
    // Angles.
    ("pivot 45 degrees", "pivot 45 deg"),
    ("pivot 45\u{00B0}", "pivot 45 deg"),
    ("pivot 45 deg", "pivot 45 deg"),
    ("pivot one degree", "pivot 1 deg"),
    // Times.
    ("linger 3 minutes", "linger 180 s"),
    ("linger 2 min", "linger 120 s"),
    ("linger ten secs", "linger 10 s"),
    ("linger 5s", "linger 5 s"),
    ("linger an hour", "linger 3600 s"),
    ("linger 1.5 hours", "linger 5400 s"),
    ("linger 1 minute 30 seconds", "linger 90 s"),
    ("linger 500 ms", "linger 0.5 s"),
    ("hang on half a minute", "hang on 30 s"),
    ("hang on a moment", "hang on 1 s"),
    ("hang on a second", "hang on 1 s"),
    ("hang on a second then beep", "hang on 1 s then beep"),
    ("beep a second time", "beep a second time"),
    ("hang on a sec", "hang on 1 s"),
    ("hang on a minute and a half", "hang on 90 s"),
    // Words that look numeric but are not quantities.
    ("grab the green one", "grab the green one"),
    ("this one or that one", "this one or that one"),
    ("one more time", "1 more time"),
    ("take one cup", "take 1 cup"),
    ("make a half turn", "make a half turn"),
    ("do a quarter turn", "do a quarter turn"),
    ("point at the lamp", "point at the lamp"),
    ("minus the lid", "minus the lid"),
    ("a few steps", "a few steps"),
    ("the second door", "the second door"),
];

#[test]
fn table_of_phrasings() {
    let mut failures = Vec::new();
    for (input, expected) in CASES {
        let got = normalize(input);
        if got.text != *expected {
            failures.push(format!("{input:?}: expected {expected:?}, got {:?}", got.text));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

#[test]
fn table_is_idempotent_and_spans_hold() {
    for (input, _) in CASES {
        check_invariants(input);
    }
}

fn q(value: f64, unit: Option<Unit>) -> (f64, Option<Unit>) {
    (value, unit)
}

#[test]
fn quantities_carry_values_units_and_spans() {
    let n = normalize("Roll ahead three and a half feet, wait 2 minutes, then turn 45\u{00B0}");
    assert_eq!(n.text, "roll ahead 1.0668 m , wait 120 s , then turn 45 deg");
    let got: Vec<_> = n.numbers.iter().map(|x| q(x.value, x.unit)).collect();
    assert_eq!(got, [q(1.0668, Some(Unit::Meters)), q(120.0, Some(Unit::Seconds)), q(45.0, Some(Unit::Degrees))]);
    let digits: Vec<&str> = n.numbers.iter().map(|x| &n.text[x.span.0..x.span.1]).collect();
    assert_eq!(digits, ["1.0668", "120", "45"]);
    let said = "Roll ahead three and a half feet, wait 2 minutes, then turn 45\u{00B0}";
    let sources: Vec<&str> = n.numbers.iter().map(|x| &said[x.source.0..x.source.1]).collect();
    assert_eq!(sources, ["three and a half feet", "2 minutes", "45\u{00B0}"]);
}

#[test]
fn bare_counts_have_no_unit_and_speeds_are_mps() {
    let n = normalize("blink three times at 2 m/s");
    assert_eq!(n.numbers.len(), 2);
    assert_eq!((n.numbers[0].value, n.numbers[0].unit), (3.0, None));
    assert_eq!((n.numbers[1].value, n.numbers[1].unit), (2.0, Some(Unit::MetersPerSecond)));
}

#[test]
fn unit_symbols_and_serde_names_agree() {
    for unit in [Unit::Meters, Unit::MetersPerSecond, Unit::Degrees, Unit::Seconds] {
        let quantity = Quantity { value: 1.0, unit: Some(unit), span: (0, 1), source: (0, 1) };
        let json = serde_json::to_string(&quantity).expect("a quantity serializes");
        assert!(json.contains(&format!("\"unit\":\"{}\"", unit.symbol())), "{json}");
        assert_eq!(unit.to_string(), unit.symbol());
    }
}

#[test]
fn ten_kilobytes_of_commands_and_garbage() {
    let long = "turn left ninety degrees and drive two and a half feet, ".repeat(180);
    assert!(long.len() > 10_000);
    let n = normalize(&long);
    assert_eq!(n.numbers.len(), 360);
    assert!(n.text.starts_with("turn left 90 deg and drive 0.762 m , turn"));
    check_invariants(&long);
    let bytes: Vec<u8> = (0..12_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    check_invariants(&String::from_utf8_lossy(&bytes));
}

/// Everything the normalizer promises for one input.
fn check_invariants(input: &str) {
    let n = normalize(input);
    let again = normalize(&n.text);
    assert_eq!(again.text, n.text, "not idempotent for {input:?}");
    assert!(!n.text.starts_with(' ') && !n.text.ends_with(' ') && !n.text.contains("  "), "{:?}", n.text);
    assert!(n.text.chars().all(|c| c.to_lowercase().eq([c])), "not lower case: {:?}", n.text);
    let mut previous_end = 0;
    for quantity in &n.numbers {
        let (a, b) = quantity.span;
        assert!(previous_end <= a && a < b, "spans out of order in {:?}", n.text);
        previous_end = b;
        let digits = n.text.get(a..b).unwrap_or_else(|| panic!("span {a}..{b} not in {:?}", n.text));
        assert!(digits.bytes().all(|c| c.is_ascii_digit() || c == b'.' || c == b'-'), "{digits:?}");
        assert_eq!(digits.parse::<f64>().ok(), Some(quantity.value), "{digits:?} in {:?}", n.text);
        if let Some(unit) = quantity.unit {
            assert!(n.text[b..].starts_with(&format!(" {}", unit.symbol())), "{:?}", n.text);
        }
        assert!(input.get(quantity.source.0..quantity.source.1).is_some_and(|s| !s.is_empty()));
    }
}

/// Words and symbols that take part in the rules, so random sequences of them
/// exercise number phrases, units and their interactions.
const VOCAB: &[&str] = &[
    "a",
    "an",
    "and",
    "the",
    "one",
    "two",
    "three",
    "five",
    "twelve",
    "twenty",
    "ninety",
    "zero",
    "oh",
    "hundred",
    "thousand",
    "million",
    "dozen",
    "couple",
    "of",
    "half",
    "halves",
    "quarter",
    "quarters",
    "point",
    "minus",
    "negative",
    "meter",
    "meters",
    "m",
    "cm",
    "feet",
    "in",
    "inch",
    "yard",
    "km",
    "per",
    "second",
    "seconds",
    "s",
    "minute",
    "min",
    "hour",
    "h",
    "moment",
    "degrees",
    "deg",
    "°",
    "/",
    "mps",
    "mph",
    "kph",
    "red",
    "time",
    "then",
    ",",
    ".",
    "?",
    "-",
    "2",
    "2.5",
    "-3",
    "1,000",
    ".5",
    "0",
    "007",
    "5cm",
    "twenty-five",
    "u-turn",
    "1st",
    "row",
    "place",
    "reverse",
    "this",
    "more",
    "é",
    "\u{2019}",
    "\u{201C}",
    "99999999999999999",
    "999999999999999",
    "kilometers",
    "hours",
    "ft",
    "yd",
    "ms",
    "sec",
    "&",
    "%",
    "!",
    ";",
    "in.",
    "-.5",
    "1,000,000",
    "1.2.3",
    "2in",
    "one-half",
    "five-hundred",
    "'",
    "\u{2014}",
    "\u{2212}",
    "of",
    "nineteen",
    "seventy",
    "eleven",
    "point",
];

fn vocab_text() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(VOCAB), prop::sample::select(&[" ", " ", " ", "", "  "][..])), 0..24)
        .prop_map(|parts| parts.into_iter().map(|(w, sep)| format!("{w}{sep}")).collect())
}

proptest! {
    // 2000 cases by default; PROPTEST_CASES raises it for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics_and_keeps_invariants(s in any::<String>()) {
        check_invariants(&s);
    }

    #[test]
    fn arbitrary_bytes_decoded_lossily_keep_invariants(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_invariants(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn number_and_unit_word_soup_keeps_invariants(s in vocab_text()) {
        check_invariants(&s);
    }

    #[test]
    fn printable_ascii_keeps_invariants(s in "[ -~]{0,80}") {
        check_invariants(&s);
    }
}
