//! What the speech decoder should expect to hear on this robot: a
//! [`Bias`] built from the board file (tool names, argument names and enum
//! values, the words of each tool's example phrasings, and a fixed list of
//! command words), with place names from the board and place and object
//! names from the memory store as names (favoured more strongly, multi-word
//! names as whole phrases). `robot plan --audio`, `robot listen` and
//! `robot eval voice` build one per board and pass it to the recognizer.

use std::collections::BTreeSet;

use robot_hal::board::BoardFile;
use robot_hal::tools::ArgType;
use robot_models::voice::Bias;

use crate::memory::{MemoryError, MemoryStore};

/// Words of commands to any robot, whatever its tools.
pub const COMMAND_WORDS: &[&str] = &[
    "go",
    "drive",
    "move",
    "turn",
    "left",
    "right",
    "forward",
    "forwards",
    "backward",
    "backwards",
    "back",
    "ahead",
    "stop",
    "halt",
    "wait",
    "then",
    "and",
    "after",
    "that",
    "meter",
    "meters",
    "centimeter",
    "centimeters",
    "degree",
    "degrees",
    "second",
    "seconds",
    "minute",
    "minutes",
    "foot",
    "feet",
    "inch",
    "inches",
    "yard",
    "yards",
    "speed",
    "slow",
    "slowly",
    "fast",
    "faster",
    "slower",
    "around",
    "please",
    "open",
    "close",
    "gripper",
    "claw",
    "pick",
    "up",
    "drop",
    "put",
    "down",
    "say",
    "take",
    "photo",
    "picture",
    "remember",
    "place",
    "dock",
    "home",
    "half",
    "quarter",
    "point",
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
];

/// Lower-case words of `text` over the recognizer's alphabet (a-z, ').
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_ascii_alphabetic() || c == '\''))
        .map(|w| w.trim_matches('\'').to_ascii_lowercase())
        .filter(|w| w.len() >= 2)
}

/// A lower-case name of words over the recognizer's alphabet, or `None`.
fn name(text: &str) -> Option<String> {
    let n: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphabetic() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    (!n.is_empty()).then(|| n.join(" "))
}

/// The bias for `board`, with extra `names` (places and objects from
/// memory, already known to the caller) added to the board's places.
pub fn bias_for(board: &BoardFile, names: &[String]) -> Bias {
    let mut vocab: BTreeSet<String> = COMMAND_WORDS.iter().map(|w| (*w).to_string()).collect();
    for t in &board.tools {
        vocab.extend(words(&t.name.replace('_', " ")));
        for a in &t.args {
            vocab.extend(words(&a.name.replace('_', " ")));
            if let ArgType::Enum { values } = &a.ty {
                vocab.extend(values.iter().flat_map(|v| words(v).collect::<Vec<_>>()));
            }
        }
        for e in &t.examples {
            vocab.extend(words(e));
        }
    }
    let mut all: BTreeSet<String> = BTreeSet::new();
    for p in &board.places {
        all.extend(name(&p.name));
        all.extend(p.aliases.iter().filter_map(|a| name(a)));
    }
    all.extend(names.iter().filter_map(|n| name(n)));
    Bias { vocabulary: vocab.into_iter().collect(), names: all.into_iter().collect() }
}

/// Place names and object labels the memory store knows.
pub fn memory_names(store: &MemoryStore) -> Result<Vec<String>, MemoryError> {
    let mut out: Vec<String> = store.places()?.into_iter().map(|p| p.name).collect();
    out.extend(store.object_labels()?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sim_rover_bias_has_tool_words_places_and_extra_names() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let board = BoardFile::load(root.join("boards/sim-rover.toml")).unwrap();
        let b = bias_for(&board, &["Piano Room".to_string(), "red ball!".to_string(), "42".to_string()]);
        for w in ["gripper", "drive", "turn", "forward", "led"] {
            assert!(b.vocabulary.iter().any(|v| v == w), "{w} missing from {:?}", b.vocabulary);
        }
        assert!(b.names.iter().any(|n| n == "hallway"), "{:?}", b.names);
        assert!(b.names.iter().any(|n| n == "piano room"));
        assert!(b.names.iter().any(|n| n == "red ball"));
        assert!(!b.names.iter().any(|n| n.is_empty() || n.contains('4')));
        assert!(b.vocabulary.iter().all(|w| w.bytes().all(|c| c.is_ascii_lowercase() || c == b'\'')));
    }

    #[test]
    fn memory_names_lists_places_and_objects() {
        let store = MemoryStore::in_memory().unwrap();
        store.remember_place("piano room", robot_hal::types::Pose::new(1.0, 2.0, 0.0), 1).unwrap();
        let names = memory_names(&store).unwrap();
        assert_eq!(names, vec!["piano room".to_string()]);
    }
}
