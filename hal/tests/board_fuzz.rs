//! The board-file loader on hostile input: random text and damaged copies of
//! `boards/sim-rover.toml` (flipped bytes, truncations, deleted or repeated
//! lines). It must never panic, and every error must point at a real place
//! in the text (line and column from 1), because `robot check-board` prints
//! it as `file:line:column` for someone to go and fix.

use proptest::prelude::*;
use robot_hal::board::BoardFile;

const SIM_ROVER: &str = include_str!("../../boards/sim-rover.toml");

fn check(src: &str) {
    match BoardFile::parse_str(src, "fuzz.toml") {
        Ok(board) => {
            // A board that loads must give its registry without panicking.
            let _ = board.registry();
        }
        Err(e) => {
            let (line, column) = e.line_column().expect("parsing text does no I/O");
            let lines = src.split('\n').count();
            assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
            assert!(column >= 1, "column {column}: {e}");
            assert!(e.to_string().starts_with("fuzz.toml:"), "{e}");
        }
    }
}

#[test]
fn the_reference_board_itself_loads() {
    assert!(BoardFile::parse_str(SIM_ROVER, "sim-rover.toml").is_ok());
}

proptest! {
    #[test]
    fn random_text_never_panics(s in any::<String>()) {
        check(&s);
    }

    #[test]
    fn toml_shaped_text_never_panics(s in "(\\[{1,2}[a-z_]{0,8}\\]{0,2}\n|[a-z_]{1,8} ?= ?(\"[a-z]{0,4}\"?|-?[0-9.e]{1,5}|\\[[0-9, \\[\\]]{0,8}\\]?|true|L[0-9])\n|#.*\n){0,12}") {
        check(&s);
    }

    #[test]
    fn flipped_bytes_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = SIM_ROVER.as_bytes().to_vec();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn truncations_never_panic(at in any::<prop::sample::Index>()) {
        let bytes = SIM_ROVER.as_bytes();
        check(&String::from_utf8_lossy(&bytes[..at.index(bytes.len() + 1)]));
    }

    #[test]
    fn deleted_and_repeated_lines_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 1..6)
    ) {
        let mut lines: Vec<&str> = SIM_ROVER.lines().collect();
        for (at, repeat) in edits {
            let i = at.index(lines.len());
            if repeat {
                lines.insert(i, lines[i]);
            } else {
                lines.remove(i);
            }
        }
        check(&lines.join("\n"));
    }
}
