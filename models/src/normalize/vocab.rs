//! Word lists the normalizer consults: number words, the words that may never
//! start an inch reading of "in", the words after which "one" is a pronoun,
//! and the words that may follow "a second" when it means one second.
//!
//! They are plain sorted-by-meaning `match`es rather than hash sets so the
//! lookup is allocation-free and the lists read as documentation.

/// Cardinal words below one hundred that compose ("twenty" + "five").
pub(crate) fn small_number(w: &str) -> Option<u32> {
    Some(match w {
        "zero" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        // A misspelling common enough in typed commands to be worth reading.
        "forty" | "fourty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Words read one digit at a time after "point" ("one point oh five").
pub(crate) fn digit_word(w: &str) -> Option<char> {
    Some(match w {
        "zero" | "oh" => '0',
        "one" => '1',
        "two" => '2',
        "three" => '3',
        "four" => '4',
        "five" => '5',
        "six" => '6',
        "seven" => '7',
        "eight" => '8',
        "nine" => '9',
        _ => return None,
    })
}

/// Scale words inside a spelled-out cardinal ("three hundred and two thousand").
pub(crate) fn scale(w: &str) -> Option<f64> {
    match w {
        "thousand" => Some(1e3),
        "million" => Some(1e6),
        _ => None,
    }
}

/// Multipliers that may follow any finished number, digits included
/// ("5 hundred", "1.5 thousand", "two dozen").
pub(crate) fn postfix_scale(w: &str) -> Option<f64> {
    match w {
        "hundred" => Some(100.0),
        "thousand" => Some(1e3),
        "million" => Some(1e6),
        "dozen" => Some(12.0),
        _ => None,
    }
}

/// Words that take part in number phrases besides the cardinals themselves.
fn number_glue(w: &str) -> bool {
    matches!(
        w,
        "hundred"
            | "thousand"
            | "million"
            | "dozen"
            | "couple"
            | "half"
            | "halves"
            | "quarter"
            | "quarters"
            | "point"
            | "and"
            | "a"
            | "an"
            | "minus"
            | "negative"
    )
}

/// Whether a word can be part of a number phrase; a hyphenated compound made
/// only of these (and unit words) is split so "twenty-five" reads as 25.
pub(crate) fn is_number_vocab(w: &str) -> bool {
    small_number(w).is_some() || number_glue(w)
}

/// After a number, "in" is a preposition, not inches, when one of these (or
/// a number) follows: "3 in a row", "spin twice in place", "2 in reverse".
pub(crate) fn blocks_inch(w: &str) -> bool {
    is_number_vocab(w)
        || matches!(
            w,
            "the"
                | "my"
                | "your"
                | "his"
                | "her"
                | "its"
                | "our"
                | "their"
                | "this"
                | "that"
                | "these"
                | "those"
                | "it"
                | "there"
                | "here"
                | "which"
                | "what"
                | "front"
                | "reverse"
                | "place"
                | "order"
                | "total"
                | "all"
                | "line"
                | "sequence"
                | "case"
                | "between"
                | "circles"
                | "circle"
                | "time"
                | "advance"
        )
}

/// "one" right after these is a pronoun ("the red one", "this one", "no one")
/// and stays a word when nothing numeric follows it.
pub(crate) fn makes_one_a_pronoun(w: &str) -> bool {
    matches!(
        w,
        "the"
            | "this"
            | "that"
            | "which"
            | "each"
            | "every"
            | "any"
            | "another"
            | "other"
            | "no"
            | "some"
            | "a"
            | "an"
            | "my"
            | "your"
            | "his"
            | "her"
            | "its"
            | "our"
            | "their"
            | "last"
            | "next"
            | "first"
            | "second"
            | "third"
            | "same"
            | "only"
            | "big"
            | "bigger"
            | "biggest"
            | "small"
            | "smaller"
            | "smallest"
            | "little"
            | "large"
            | "larger"
            | "tall"
            | "short"
            | "round"
            | "square"
            | "new"
            | "old"
            | "empty"
            | "full"
            | "heavy"
            | "light"
            | "closest"
            | "nearest"
            | "near"
            | "far"
            | "red"
            | "green"
            | "blue"
            | "yellow"
            | "white"
            | "purple"
            | "orange"
            | "black"
            | "pink"
            | "brown"
            | "grey"
            | "gray"
    )
}

/// "a second" is one second only at the end of a clause or before one of
/// these; otherwise it is the ordinal ("a second time", "a second cup").
/// Nouns that make a preceding "second" the ordinal ("a second time"), not
/// the unit.
pub(crate) fn ordinal_noun(w: &str) -> bool {
    matches!(
        w,
        "time" | "times" | "go" | "round" | "try" | "attempt" | "pass" | "lap" | "loop" | "one" | "turn" | "look"
    )
}

pub(crate) fn ends_a_second(w: &str) -> bool {
    matches!(
        w,
        "and"
            | "then"
            | "or"
            | "before"
            | "after"
            | "please"
            | "now"
            | "more"
            | "longer"
            | "first"
            | "so"
            | "to"
            | "while"
            | "until"
            | "again"
    )
}
