//! The program language by example: what parses to what, every error with
//! its exact position, the canonical printed form, and the caret rendering.

use robot_hal::program::{parse, Arg, Call, ParseError, Program, Stmt, Value, MAX_REPEAT_DEPTH};

fn num(n: f64) -> Value {
    Value::Number(n)
}

fn text(s: &str) -> Value {
    Value::Str(s.to_string())
}

fn calls(stmts: Vec<Call>) -> Program {
    Program::from_calls(stmts)
}

/// Parse `src`, which must fail, and return (line, column, expected, found).
fn err(src: &str) -> (usize, usize, String, String) {
    match parse(src) {
        Ok(p) => panic!("{src:?} parsed as {p:?}"),
        Err(e) => (e.line, e.column, e.expected, e.found),
    }
}

fn check_err(src: &str, line: usize, column: usize, expected: &str, found: &str) {
    assert_eq!(err(src), (line, column, expected.to_string(), found.to_string()), "for {src:?}");
}

// ------------------------------------------------------------ what parses

#[test]
fn spec_example_parses_to_the_expected_tree() {
    let p = parse(r#"drive(distance_m=2); turn(angle_deg=-90); repeat(3) { go_to(place="kitchen"); say(text="hi") }"#)
        .unwrap();
    let expected = Program {
        stmts: vec![
            Stmt::Call(Call::new("drive").with("distance_m", num(2.0))),
            Stmt::Call(Call::new("turn").with("angle_deg", num(-90.0))),
            Stmt::Repeat {
                times: 3,
                body: vec![
                    Stmt::Call(Call::new("go_to").with("place", text("kitchen"))),
                    Stmt::Call(Call::new("say").with("text", text("hi"))),
                ],
            },
        ],
    };
    assert_eq!(p, expected);
}

#[test]
fn empty_and_blank_inputs_are_empty_programs() {
    for src in ["", "   ", ";;", "\n\n", "# only a comment", " ; \n # c\n ;"] {
        assert_eq!(parse(src).unwrap(), Program::default(), "for {src:?}");
    }
}

#[test]
fn bare_words_are_strings_and_names_keep_their_case() {
    let p = parse("set_led(color=red); Say(Text=Hello_2)").unwrap();
    assert_eq!(
        p,
        calls(vec![Call::new("set_led").with("color", text("red")), Call::new("Say").with("Text", text("Hello_2"))])
    );
}

#[test]
fn newlines_separate_statements_and_are_whitespace_inside_calls() {
    let src = "# plan\nstop()\n\ndrive(\n  distance_m = 2,\n  speed_mps=0.3,\n) # trailing comma\r\nrepeat ( 2 )\n{\n scan()\n}\n";
    let p = parse(src).unwrap();
    assert_eq!(
        p,
        Program {
            stmts: vec![
                Stmt::Call(Call::new("stop")),
                Stmt::Call(Call::new("drive").with("distance_m", num(2.0)).with("speed_mps", num(0.3))),
                Stmt::Repeat { times: 2, body: vec![Stmt::Call(Call::new("scan"))] },
            ]
        }
    );
}

#[test]
fn strings_take_both_quotes_and_all_escapes() {
    let p = parse(r#"say(text='it\'s "ok"', b="tab\there\nq\"\\\u{e9}\u{1F600}\r")"#).unwrap();
    let Stmt::Call(c) = &p.stmts[0] else { panic!("not a call") };
    assert_eq!(c.string("text"), Some("it's \"ok\""));
    assert_eq!(c.string("b"), Some("tab\there\nq\"\\é😀\r"));
}

#[test]
fn numbers_in_all_their_forms() {
    let p = parse("f(a=0, b=-0, c=12.5, d=-3e2, e=1E-3, g=2e+1, h=007)").unwrap();
    let Stmt::Call(c) = &p.stmts[0] else { panic!("not a call") };
    let got: Vec<f64> = c.args.iter().map(|a| a.value.as_f64().unwrap()).collect();
    assert_eq!(got, vec![0.0, -0.0, 12.5, -300.0, 0.001, 20.0, 7.0]);
    assert!(got[1].is_sign_negative(), "-0 keeps its sign");
}

#[test]
fn a_tool_may_be_called_without_arguments_and_repeat_bodies_may_be_empty() {
    let p = parse("stop(); repeat(2) {}").unwrap();
    assert_eq!(p.stmts[1], Stmt::Repeat { times: 2, body: vec![] });
}

#[test]
fn nesting_up_to_the_limit_parses() {
    let src = format!("{}stop(){}", "repeat(2){".repeat(MAX_REPEAT_DEPTH), "}".repeat(MAX_REPEAT_DEPTH));
    let p = parse(&src).unwrap();
    assert_eq!(p.calls().len(), 1);
    assert_eq!(p.unrolled(), None, "2^16 steps is over the unroll limit");
}

// ------------------------------------------------------------ every error, located

#[test]
fn call_errors() {
    check_err("drive(distance_m=2; turn()", 1, 19, "`)` or `,`", "`;`");
    check_err("drive(distance_m 2)", 1, 18, "`=`", "`2`");
    check_err("drive(=2)", 1, 7, "an argument name or `)`", "`=`");
    check_err("drive(distance_m=2,,)", 1, 20, "an argument name or `)`", "`,`");
    check_err("drive(distance_m=)", 1, 18, "a value (number, \"text\" or word)", "`)`");
    check_err("drive distance_m=2", 1, 7, "`(`", "`distance_m`");
    check_err("stop(", 1, 6, "an argument name or `)`", "end of input");
    check_err("drive(distance_m=2", 1, 19, "`)` or `,`", "end of input");
    check_err("drive(distance_m=-)", 1, 18, "a value (number, \"text\" or word)", "`-`");
    check_err("drive(distance_m=2.)", 1, 19, "`)` or `,`", "`.`");
    check_err("drive(distance_m=2m)", 1, 19, "`)` or `,`", "`m`");
    check_err("drive(distance_m=+2)", 1, 18, "a value (number, \"text\" or word)", "`+`");
    check_err("drive(distance_m=.5)", 1, 18, "a value (number, \"text\" or word)", "`.`");
}

#[test]
fn statement_errors() {
    check_err("@", 1, 1, "a tool call or `repeat`", "`@`");
    check_err("}", 1, 1, "a tool call or `repeat`", "`}`");
    check_err("stop(); }", 1, 9, "a tool call or `repeat`", "`}`");
    check_err("stop() }", 1, 8, "`;`, a new line or end of input", "`}`");
    check_err("drive(distance_m=2) turn(angle_deg=9)", 1, 21, "`;`, a new line or end of input", "`turn`");
    check_err("42", 1, 1, "a tool call or `repeat`", "`42`");
    check_err("\"say\"()", 1, 1, "a tool call or `repeat`", "`\"say\"`");
    check_err("stop()\n  = ", 2, 3, "a tool call or `repeat`", "`=`");
}

#[test]
fn repeat_errors() {
    let count = "a whole number of times from 1 to 1000";
    check_err("repeat(0) { stop() }", 1, 8, count, "`0`");
    check_err("repeat(1001) { stop() }", 1, 8, count, "`1001`");
    check_err("repeat(99999999999) { stop() }", 1, 8, count, "`99999999999`");
    check_err("repeat(2.5) { stop() }", 1, 8, count, "`2.5`");
    check_err("repeat(2e1) { stop() }", 1, 8, count, "`2e1`");
    check_err("repeat(-1) { stop() }", 1, 8, count, "`-1`");
    check_err("repeat(times=2) { stop() }", 1, 8, count, "`times`");
    check_err("repeat(2 { stop() }", 1, 10, "`)`", "`{`");
    check_err("repeat(2) stop()", 1, 11, "`{`", "`stop`");
    check_err("repeat { stop() }", 1, 8, "`(`", "`{`");
    check_err("repeat(2) { stop()", 1, 19, "`;`, a new line or `}`", "end of input");
    check_err("repeat(2) { stop(); ", 1, 21, "a tool call, `repeat` or `}`", "end of input");
    check_err("repeat(2) { stop() scan() }", 1, 20, "`;`, a new line or `}`", "`scan`");
    check_err("repeat(2) { ) }", 1, 13, "a tool call, `repeat` or `}`", "`)`");
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_stack_overflow() {
    let src = "repeat(2){".repeat(MAX_REPEAT_DEPTH + 1);
    check_err(&src, 1, MAX_REPEAT_DEPTH * 10 + 1, "at most 16 nested `repeat` blocks", "`repeat` nested 17 deep");
    let deep = "repeat(2){".repeat(10_000);
    assert_eq!(err(&deep).1, MAX_REPEAT_DEPTH * 10 + 1);
    // Unbalanced brackets of other kinds do not recurse at all.
    assert_eq!(err(&"{".repeat(10_000)).1, 1);
    assert_eq!(err(&format!("f{}", "(".repeat(10_000))).1, 3);
}

#[test]
fn lexical_errors() {
    check_err("drive(distance_m=1e999)", 1, 18, "a number in range", "`1e999` (number out of range)");
    check_err("drive(distance_m=-1e309)", 1, 18, "a number in range", "`-1e309` (number out of range)");
    check_err("say(text=\"hi)", 1, 10, "`\"` to close this text", "end of input");
    check_err("say(text='hi)", 1, 10, "`'` to close this text", "end of input");
    check_err("say(text=\"hi)\nstop()", 1, 10, "`\"` to close this text", "end of line");
    let esc = "an escape (\\\" \\' \\\\ \\n \\t \\r or \\u{...})";
    check_err(r#"say(text="a\qb")"#, 1, 12, esc, "`\\q`");
    check_err("say(text=\"a\\", 1, 12, esc, "`\\`");
    let uni = "a unicode escape such as `\\u{e9}`";
    check_err(r#"say(text="\u{d800}")"#, 1, 11, uni, "`\\u{d800}`");
    check_err(r#"say(text="\u{110000}")"#, 1, 11, uni, "`\\u{110000}`");
    check_err(r#"say(text="\u{}")"#, 1, 11, uni, "`\\u{`");
    check_err(r#"say(text="\u{1234567}")"#, 1, 11, uni, "`\\u{1234567`");
    check_err(r#"say(text="\u41")"#, 1, 11, uni, "`\\u`");
    check_err(r#"say(text="\u{41")"#, 1, 11, uni, "`\\u{41`");
}

#[test]
fn positions_count_lines_and_characters() {
    check_err("stop()\n\n  drive(distance_m=2,\n    speed_mps=@)", 4, 15, "a value (number, \"text\" or word)", "`@`");
    // Columns are characters, not bytes: `é` and the emoji are one each.
    check_err("say(text=\"héllo😀\") @", 1, 20, "`;`, a new line or end of input", "`@`");
    check_err("\tstop(\t@", 1, 8, "an argument name or `)`", "`@`");
    check_err("stop()\r\nstop(\r\n@)", 3, 1, "an argument name or `)`", "`@`");
    check_err("# a comment ( {\nstop(1)", 2, 6, "an argument name or `)`", "`1`");
}

#[test]
fn long_found_tokens_are_shortened() {
    let long = "x".repeat(100);
    let (_, _, _, found) = err(&format!("stop() \"{long}\""));
    assert_eq!(found, format!("`\"{}…`", "x".repeat(23)));
}

#[test]
fn display_and_render() {
    let src = "stop()\n\tdrive(distance_m=2; turn(angle_deg=90)";
    let e = parse(src).unwrap_err();
    assert_eq!(e.to_string(), "2:20: expected `)` or `,`, found `;`");
    assert_eq!(e.render(src), "2:20: expected `)` or `,`, found `;`\n  |\n2 | \tdrive(distance_m=2; turn(angle_deg=90)\n  | \t                  ^");
    // At end of input after a final newline the line shown is empty.
    let src = "stop(\n";
    let e = parse(src).unwrap_err();
    assert_eq!((e.line, e.column), (2, 1));
    assert_eq!(e.render(src), format!("{e}\n  |\n2 | \n  | ^"));
    // Rendering against unrelated text never panics.
    let e = ParseError::new(99, 500, "x", "y");
    assert!(e.render("").ends_with('^'));
}

// ------------------------------------------------------------ printing

#[test]
fn spec_example_prints_canonically() {
    let src = r#"drive(distance_m=2); turn(angle_deg=-90); repeat(3) { go_to(place="kitchen"); say(text="hi") }"#;
    assert_eq!(parse(src).unwrap().to_string(), src);
    let messy = "drive( distance_m = 2.0 ,)\n turn(angle_deg=-9e1)\nrepeat(3){go_to(place='kitchen')\nsay(text=hi)}";
    assert_eq!(parse(messy).unwrap().to_string(), src);
}

#[test]
fn numbers_print_shortest() {
    let cases = [
        (2.0, "2"),
        (0.3, "0.3"),
        (-90.0, "-90"),
        (-0.0, "-0"),
        (0.0, "0"),
        (1e300, "1e300"),
        (-1.5e-7, "-1.5e-7"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e308"),
        (0.00001, "0.00001"),
        (1e15, "1000000000000000"),
        (1e16, "1e16"),
    ];
    for (n, s) in cases {
        assert_eq!(num(n).to_string(), s);
        let back = parse(&format!("f(x={s})")).unwrap();
        let Stmt::Call(c) = &back.stmts[0] else { panic!("not a call") };
        assert_eq!(c.number("x").map(f64::to_bits), Some(n.to_bits()), "{s}");
    }
}

#[test]
fn strings_print_double_quoted_with_escapes() {
    assert_eq!(text("a\"b\\c\nd\te\rf'\u{1}\u{7f}é").to_string(), r#""a\"b\\c\nd\te\rf'\u{1}\u{7f}é""#);
    let c = Call { tool: "say".into(), args: vec![Arg { name: "text".into(), value: text("x") }] };
    assert_eq!(c.to_string(), r#"say(text="x")"#);
    assert_eq!(Stmt::Repeat { times: 2, body: vec![] }.to_string(), "repeat(2) {}");
    assert_eq!(Program::default().to_string(), "");
}
