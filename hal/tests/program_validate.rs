//! Programs parsed as text, checked against the reference rover's tools
//! (`boards/sim-rover.toml`): every kind of mistake is caught and located,
//! and the spec's own examples pass.

use robot_hal::board::BoardFile;
use robot_hal::program::{parse, Call, Program, Stmt, Value};
use robot_hal::tools::{ToolRegistry, ValidationError, ValidationErrorKind as K};

fn registry() -> ToolRegistry {
    BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml")).unwrap().registry()
}

fn check(src: &str) -> Result<(), ValidationError> {
    registry().validate(&parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}")))
}

/// The error's call index and kind, for a program that must be rejected.
fn rejected(src: &str) -> (Option<usize>, K) {
    let e = check(src).expect_err(src);
    (e.call_index, e.kind)
}

#[test]
fn spec_examples_are_accepted() {
    for src in [
        r#"drive(distance_m=2); turn(angle_deg=-90); repeat(3) { go_to(place="kitchen"); say(text="hi") }"#,
        "drive(distance_m=2); turn(angle_deg=-90)",
        "drive(distance_m=-0.3, speed_mps=0.1); set_speed(speed_mps=0.5); wait(seconds=30)",
        "set_led(color=red); gripper(action=\"open\"); read(sensor=battery); stop(); dock(); scan()",
        "find(object=\"red ball\"); pick_up(object=\"red ball\"); put_down(); take_photo()",
        "remember_place(name=\"reading corner\"); repeat(4) { drive(distance_m=1); turn(angle_deg=90) }",
    ] {
        assert_eq!(check(src), Ok(()), "{src}");
    }
}

#[test]
fn unknown_tools_are_rejected_with_a_hint_when_close() {
    assert_eq!(
        rejected("drve(distance_m=2)"),
        (Some(0), K::UnknownTool { tool: "drve".into(), hint: " (did you mean `drive`?)".into() })
    );
    assert_eq!(
        rejected("stop(); fly(height_m=2)"),
        (Some(1), K::UnknownTool { tool: "fly".into(), hint: String::new() })
    );
    assert!(
        matches!(rejected("trun(angle_deg=9)").1, K::UnknownTool { hint, .. } if hint == " (did you mean `turn`?)")
    );
    assert!(matches!(rejected("stp()").1, K::UnknownTool { hint, .. } if hint == " (did you mean `stop`?)"));
    // Tool names are case-sensitive: the board declares lower case.
    assert!(matches!(rejected("Stop()").1, K::UnknownTool { .. }));
}

#[test]
fn unknown_arguments_are_rejected() {
    assert_eq!(
        rejected("drive(dist=2)"),
        (Some(0), K::UnknownArg { tool: "drive".into(), arg: "dist".into(), expected: "distance_m, speed_mps".into() })
    );
    assert_eq!(
        rejected("stop(now=1)"),
        (Some(0), K::UnknownArg { tool: "stop".into(), arg: "now".into(), expected: "no arguments".into() })
    );
}

#[test]
fn out_of_range_numbers_are_rejected() {
    let e = check("drive(distance_m=20000)").unwrap_err();
    assert_eq!(e.to_string(), "call 1: `drive` argument `distance_m` = 20000 m is out of range [-10000, 10000] m");
    assert!(
        matches!(rejected("set_speed(speed_mps=0.01)").1, K::OutOfRange { min, max, .. } if min == 0.05 && max == 1.0)
    );
    assert!(matches!(rejected("turn(angle_deg=-3600.5)").1, K::OutOfRange { .. }));
    assert!(matches!(rejected("wait(seconds=-1)").1, K::OutOfRange { .. }));
    // Numbers the parser cannot produce still cannot slip through.
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let p = Program::from_calls(vec![Call::new("wait").with("seconds", Value::Number(bad))]);
        assert!(matches!(registry().validate(&p).unwrap_err().kind, K::OutOfRange { .. }), "{bad}");
    }
    // The bounds themselves are inside.
    assert_eq!(check("turn(angle_deg=3600); set_speed(speed_mps=0.05)"), Ok(()));
}

#[test]
fn wrong_types_are_rejected() {
    assert_eq!(
        rejected("drive(distance_m=\"two\")"),
        (
            Some(0),
            K::WrongType {
                tool: "drive".into(),
                arg: "distance_m".into(),
                expected: "a number".into(),
                got: "the text \"two\"".into()
            }
        )
    );
    assert!(matches!(rejected("drive(distance_m=two)").1, K::WrongType { .. }), "a bare word is text");
    assert!(matches!(rejected("say(text=3)").1, K::WrongType { expected, .. } if expected == "text"));
    assert!(matches!(rejected("say(text=\"   \")").1, K::WrongType { expected, .. } if expected == "non-empty text"));
    assert!(matches!(
        rejected("set_led(color=3)").1,
        K::WrongType { expected, got, .. } if expected.starts_with("one of off, red") && got == "the number 3"
    ));
}

#[test]
fn enum_mismatches_are_rejected() {
    assert_eq!(
        rejected("set_led(color=pink)"),
        (
            Some(0),
            K::NotInEnum {
                tool: "set_led".into(),
                arg: "color".into(),
                allowed: "off, red, green, blue, yellow, white, purple, orange".into(),
                got: "pink".into()
            }
        )
    );
    assert!(matches!(rejected("gripper(action=\"half open\")").1, K::NotInEnum { .. }));
    // Enum words match ignoring ASCII case and surrounding spaces, like the spec's comparison.
    assert_eq!(check("set_led(color=RED); read(sensor=\" heading \")"), Ok(()));
}

#[test]
fn missing_duplicate_and_overlong_arguments_are_rejected() {
    assert_eq!(rejected("drive()"), (Some(0), K::MissingArg { tool: "drive".into(), arg: "distance_m".into() }));
    assert!(matches!(rejected("drive(speed_mps=0.3)").1, K::MissingArg { .. }));
    assert_eq!(
        rejected("turn(angle_deg=1, angle_deg=2)"),
        (Some(0), K::DuplicateArg { tool: "turn".into(), arg: "angle_deg".into() })
    );
    let long = "a".repeat(201);
    assert!(matches!(rejected(&format!("say(text=\"{long}\")")).1, K::TooLong { max_len: 200, .. }));
    assert_eq!(check(&format!("say(text=\"{}\")", "é".repeat(200))), Ok(()), "length counts characters");
}

#[test]
fn call_index_counts_loop_bodies_once_in_tree_order() {
    assert_eq!(rejected("stop(); repeat(5) { turn(angle_deg=1); fly() }").0, Some(2));
}

#[test]
fn empty_and_oversized_programs_are_rejected() {
    for src in ["", "# nothing\n;", "repeat(3) {}", "repeat(1000) { repeat(1000) {} }"] {
        assert_eq!(rejected(src), (None, K::Empty), "{src:?}");
    }
    assert_eq!(rejected("repeat(1000) { repeat(11) { stop() } }"), (None, K::TooManySteps(10_000)));
    assert_eq!(check("repeat(1000) { repeat(10) { stop() } }"), Ok(()));
    // `repeat(0)` cannot be written, but a tree built in code may hold it:
    // it has a call yet unrolls to nothing.
    let p = Program { stmts: vec![Stmt::Repeat { times: 0, body: vec![Stmt::Call(Call::new("stop"))] }] };
    assert_eq!(registry().validate(&p).unwrap_err().kind, K::Empty);
}
