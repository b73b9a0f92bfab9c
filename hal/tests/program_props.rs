//! Properties of the program language, checked on generated inputs:
//! printing then parsing gives back the same tree, the JSON step list gives
//! back the unrolled calls, and no input (random text, or soup made of the
//! grammar's own tokens) makes the parser panic or misplace an error.

use proptest::prelude::*;
use robot_hal::program::{parse, steps_from_json, steps_to_json, Arg, Call, ParseError, Program, Stmt, Value};

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,8}"
}

fn tool_name() -> impl Strategy<Value = String> {
    ident().prop_filter("`repeat` is the keyword", |s| s != "repeat")
}

fn finite() -> impl Strategy<Value = f64> {
    use proptest::num::f64 as f;
    prop_oneof![
        4 => f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO,
        1 => prop::sample::select(vec![-0.0, 0.0, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324, -5e-324, 1e16, 1e-5, 0.1]),
        2 => (-1000i32..1000).prop_map(f64::from),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[\"'\\\\\n\r\t\u{0}-\u{1f}\u{7f}\u{85}\u{2028}a-z é😀#;(){}]{0,12}",]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![finite().prop_map(Value::Number), text().prop_map(Value::Str)]
}

fn call() -> impl Strategy<Value = Call> {
    (tool_name(), prop::collection::vec((ident(), value()), 0..4)).prop_map(|(tool, args)| Call {
        tool,
        args: args.into_iter().map(|(name, value)| Arg { name, value }).collect(),
    })
}

fn stmt(max_times: u32) -> impl Strategy<Value = Stmt> {
    call().prop_map(Stmt::Call).prop_recursive(4, 24, 4, move |inner| {
        (1..=max_times, prop::collection::vec(inner, 0..4)).prop_map(|(times, body)| Stmt::Repeat { times, body })
    })
}

fn program() -> impl Strategy<Value = Program> {
    prop::collection::vec(stmt(1000), 0..6).prop_map(|stmts| Program { stmts })
}

/// Calls whose arguments have distinct names in sorted order, which is how
/// they come back from a JSON object.
fn json_call() -> impl Strategy<Value = Call> {
    (tool_name(), prop::collection::btree_map(ident(), value(), 0..4)).prop_map(|(tool, args)| Call {
        tool,
        args: args.into_iter().map(|(name, value)| Arg { name, value }).collect(),
    })
}

fn json_program() -> impl Strategy<Value = Program> {
    let stmt = json_call().prop_map(Stmt::Call).prop_recursive(3, 16, 3, |inner| {
        (1..=4u32, prop::collection::vec(inner, 0..3)).prop_map(|(times, body)| Stmt::Repeat { times, body })
    });
    prop::collection::vec(stmt, 0..5).prop_map(|stmts| Program { stmts })
}

/// An error must point inside the text (or just past its end).
fn assert_located(src: &str, e: &ParseError) {
    let lines = src.split('\n').count();
    assert!(e.line >= 1 && e.line <= lines, "line {} of {lines} for {src:?}", e.line);
    let len = src.split('\n').nth(e.line - 1).map_or(0, |l| l.chars().count());
    assert!(e.column >= 1 && e.column <= len + 1, "column {} of {len} for {src:?}", e.column);
    assert!(!e.expected.is_empty() && !e.found.is_empty());
    assert!(e.render(src).ends_with('^'));
}

/// Parse; an error must be well located, and a success must be canonical:
/// its printed form parses back to the same tree.
fn check_any(src: &str) {
    match parse(src) {
        Err(e) => assert_located(src, &e),
        Ok(p) => {
            let printed = p.to_string();
            assert_eq!(parse(&printed).as_ref(), Ok(&p), "reprint of {src:?} is {printed:?}");
            // Walking the tree is bounded too, however the loops nest.
            let _ = p.unrolled();
        }
    }
}

/// Pieces of the grammar, right and wrong, to glue into near-programs.
const PIECES: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    ";",
    "\n",
    "=",
    ",",
    " ",
    "\t",
    "\r\n",
    "#",
    "# c\n",
    "repeat",
    "repeat(2){",
    "repeat(1000)",
    "drive",
    "x",
    "_a1",
    "Say",
    "0",
    "-1",
    "2.5",
    "1e3",
    "1e999",
    "1e",
    "2.",
    "-",
    ".",
    "+",
    "1001",
    "\"",
    "'",
    "\"ab\"",
    "'c d'",
    "\\",
    "\\u{",
    "\\u{41}",
    "\\n",
    "é",
    "😀",
    "@",
    "\u{0}",
    "distance_m=2",
    "f()",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn printed_programs_parse_back(p in program()) {
        let printed = p.to_string();
        let back = parse(&printed);
        prop_assert_eq!(back.as_ref(), Ok(&p), "printed: {}", printed);
        // PartialEq says -0 == 0; Debug shows every f64 bit-exactly.
        prop_assert_eq!(format!("{:?}", back.unwrap_or_default()), format!("{p:?}"));
    }

    #[test]
    fn json_steps_give_back_the_unrolled_calls(p in json_program()) {
        let unrolled = p.unrolled().expect("at most 4^3 * 5 * 3 steps");
        let json = p.to_json().expect("same bound as unrolled");
        prop_assert_eq!(&json, &steps_to_json(&unrolled));
        let back = steps_from_json(&json);
        prop_assert_eq!(back.as_ref(), Ok(&unrolled));
        // The flat program is equivalent: same steps.
        let flat = Program::from_calls(back.unwrap_or_default());
        prop_assert_eq!(flat.unrolled(), Some(unrolled));
    }

    #[test]
    fn parser_never_panics_on_random_text(s in any::<String>()) {
        check_any(&s);
    }

    #[test]
    fn parser_never_panics_on_token_soup(s in soup()) {
        check_any(&s);
    }

    #[test]
    fn parser_never_panics_on_mutated_programs(p in program(), cut in any::<prop::sample::Index>(), junk in prop::sample::select(PIECES)) {
        let text = p.to_string();
        let chars: Vec<char> = text.chars().collect();
        let at = if chars.is_empty() { 0 } else { cut.index(chars.len() + 1) };
        let truncated: String = chars[..at].iter().collect();
        check_any(&truncated);
        let inserted: String = format!("{truncated}{junk}{}", chars[at..].iter().collect::<String>());
        check_any(&inserted);
    }

    #[test]
    fn json_reader_never_panics(v in arb_json()) {
        match steps_from_json(&v) {
            Ok(calls) => {
                // Whatever it accepts prints as a program that parses back.
                let p = Program::from_calls(calls);
                prop_assert_eq!(parse(&p.to_string()), Ok(p));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        finite().prop_map(J::from),
        prop::sample::select(vec!["tool", "args", "drive", "repeat", "x y", "", "distance_m"]).prop_map(J::from),
        any::<String>().prop_map(J::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(J::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["tool", "args", "distance_m", "text", "extra", "x y"]).prop_map(String::from),
                inner,
                0..3,
            )
            .prop_map(|m| J::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn nested_empty_loops_unroll_instantly() {
    let src = format!("{}{}", "repeat(1000){".repeat(16), "}".repeat(16));
    let p = parse(&src).unwrap();
    assert_eq!(p.unrolled(), Some(vec![]));
    assert_eq!(p.to_json(), Some(serde_json::json!([])));
}
