//! Unit tests of the policy on the repository's simulated rover board.

use std::time::Duration;

use robot_hal::board::{BoardFile, Level};
use robot_hal::program::{Call, Program, Stmt, Value};
use robot_hal::tools::{RiskClass, ToolRegistry, ToolSpec};
use robot_hal::Pose;

use super::*;
use crate::places::PlaceMemory;

fn board() -> BoardFile {
    BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml"))
        .expect("the sim-rover board loads")
}

fn drive(d: f64) -> Call {
    Call::new("drive").with("distance_m", Value::Number(d))
}
fn turn(a: f64) -> Call {
    Call::new("turn").with("angle_deg", Value::Number(a))
}
fn say(t: &str) -> Call {
    Call::new("say").with("text", Value::Str(t.into()))
}
fn go_to(p: &str) -> Call {
    Call::new("go_to").with("place", Value::Str(p.into()))
}
fn prog(calls: Vec<Call>) -> Program {
    Program { stmts: calls.into_iter().map(Stmt::Call).collect() }
}

fn ctx(level: Level, source: Source) -> RunContext {
    RunContext { level, source, start_pose: Pose::default(), battery: 0.9, operator_link: true }
}

fn check(policy: &Policy, b: &BoardFile, program: &Program, ctx: &RunContext) -> Result<Preflight, Rejection> {
    policy.preflight(program, &b.registry(), ctx, b)
}

/// Preflight on the sim rover at `level`, operator source.
fn at(level: Level, calls: Vec<Call>) -> Result<Preflight, Rejection> {
    let b = board();
    check(&Policy::new(&b), &b, &prog(calls), &ctx(level, Source::Operator))
}

fn confirmation(level: Level, calls: Vec<Call>) -> Confirmation {
    at(level, calls).expect("accepted").confirmation
}

#[test]
fn l0_refuses_brain_and_remote_plans_and_confirms_each_operator_step() {
    let b = board();
    let p = Policy::new(&b);
    for source in [Source::Brain { confidence: 0.99 }, Source::Remote] {
        let r = check(&p, &b, &prog(vec![say("hi")]), &ctx(Level::L0, source)).unwrap_err();
        assert_eq!(r.kind, RejectionKind::NotAllowedAtLevel, "{r}");
        assert!(r.reason.contains("L0"), "{r}");
    }
    assert_eq!(confirmation(Level::L0, vec![say("hi"), drive(1.0)]), Confirmation::EachStep);
}

#[test]
fn l1_confirms_every_step_even_signals() {
    assert_eq!(confirmation(Level::L1, vec![drive(1.0)]), Confirmation::EachStep);
    assert_eq!(confirmation(Level::L1, vec![say("hi")]), Confirmation::EachStep);
}

#[test]
fn l2_confirms_motion_plans_once_and_runs_low_risk_plans_freely() {
    assert_eq!(confirmation(Level::L2, vec![say("hi")]), Confirmation::NotNeeded);
    let observe = vec![Call::new("scan"), Call::new("read").with("sensor", Value::Str("battery".into()))];
    assert_eq!(confirmation(Level::L2, observe), Confirmation::NotNeeded);
    match confirmation(Level::L2, vec![say("hi"), drive(1.0)]) {
        Confirmation::PlanOnce { reason } => assert!(reason.contains("motion"), "{reason}"),
        other => panic!("expected PlanOnce, got {other:?}"),
    }
    let configure = vec![Call::new("set_speed").with("speed_mps", Value::Number(0.2))];
    assert!(matches!(confirmation(Level::L2, configure), Confirmation::PlanOnce { .. }));
}

#[test]
fn l3_and_l4_run_within_limits_without_confirmation() {
    assert_eq!(confirmation(Level::L3, vec![drive(1.0), turn(90.0)]), Confirmation::NotNeeded);
    assert_eq!(confirmation(Level::L4, vec![drive(1.0), turn(90.0)]), Confirmation::NotNeeded);
}

#[test]
fn l5_is_refused_above_the_cap_and_runs_freely_where_allowed() {
    let r = at(Level::L5, vec![say("hi")]).unwrap_err();
    assert_eq!(r.kind, RejectionKind::NotAllowedAtLevel);
    assert!(r.reason.contains("cap"), "{r}");
    let mut b = board();
    b.autonomy.cap = Level::L5;
    let p = check(&Policy::new(&b), &b, &prog(vec![drive(1.0)]), &ctx(Level::L5, Source::Operator)).unwrap();
    assert_eq!(p.confirmation, Confirmation::NotNeeded);
}

#[test]
fn low_confidence_brain_plans_are_confirmed_once_where_they_would_run_freely() {
    let b = board();
    let p = Policy::new(&b);
    let plan = prog(vec![drive(1.0)]);
    let low = ctx(Level::L4, Source::Brain { confidence: 0.5 });
    match check(&p, &b, &plan, &low).unwrap().confirmation {
        Confirmation::PlanOnce { reason } => assert!(reason.contains("confidence 0.50"), "{reason}"),
        other => panic!("expected PlanOnce, got {other:?}"),
    }
    let high = ctx(Level::L4, Source::Brain { confidence: 0.9 });
    assert_eq!(check(&p, &b, &plan, &high).unwrap().confirmation, Confirmation::NotNeeded);
    let nan = ctx(Level::L4, Source::Brain { confidence: f64::NAN });
    assert!(matches!(check(&p, &b, &plan, &nan).unwrap().confirmation, Confirmation::PlanOnce { .. }));
    // A signal-only plan runs freely at L2, so low confidence needs a confirmation there too.
    let l2 = ctx(Level::L2, Source::Brain { confidence: 0.3 });
    assert!(matches!(check(&p, &b, &prog(vec![say("hi")]), &l2).unwrap().confirmation, Confirmation::PlanOnce { .. }));
    // The threshold is configurable.
    let lenient = Policy::new(&b).with_confidence_threshold(0.4);
    assert_eq!(check(&lenient, &b, &plan, &low).unwrap().confirmation, Confirmation::NotNeeded);
}

#[test]
fn irreversible_steps_are_confirmed_on_their_own_while_an_operator_is_present() {
    let b = board();
    let mut tools = b.tools.clone();
    tools.push(ToolSpec {
        name: "erase_map".into(),
        risk: RiskClass::Irreversible,
        description: String::new(),
        args: Vec::new(),
        skill: None,
        examples: Vec::new(),
        timeout_s: None,
    });
    let reg = ToolRegistry::from_specs(tools).unwrap();
    let p = Policy::new(&b);
    let run = |level, calls| p.preflight(&prog(calls), &reg, &ctx(level, Source::Operator), &b).unwrap().confirmation;
    assert_eq!(run(Level::L3, vec![say("bye"), Call::new("erase_map")]), Confirmation::Steps(vec![1]));
    assert_eq!(run(Level::L2, vec![say("bye"), Call::new("erase_map")]), Confirmation::EachStep);
    assert_eq!(run(Level::L4, vec![say("bye"), Call::new("erase_map")]), Confirmation::NotNeeded);
}

#[test]
fn levels_up_to_l3_need_an_operator_link() {
    let b = board();
    let p = Policy::new(&b);
    let plan = prog(vec![say("hi")]);
    for level in [Level::L0, Level::L1, Level::L2, Level::L3] {
        let c = RunContext { operator_link: false, ..ctx(level, Source::Operator) };
        let r = check(&p, &b, &plan, &c).unwrap_err();
        assert!(r.has(&RejectionKind::OperatorLinkRequired), "{level}: {r}");
    }
    let c = RunContext { operator_link: false, ..ctx(Level::L4, Source::Operator) };
    assert!(check(&p, &b, &plan, &c).is_ok());
}

#[test]
fn the_cap_limits_operator_raises_and_only_operators_raise() {
    let b = board();
    let mut p = Policy::new(&b);
    assert_eq!((p.level(), p.cap()), (Level::L2, Level::L4));
    assert_eq!(p.set_level_by_operator(Level::L5), Err(PolicyError::AboveCap { requested: Level::L5, cap: Level::L4 }));
    assert_eq!(p.level(), Level::L2);
    assert_eq!(p.set_level_by_operator(Level::L4), Ok(Level::L4));
    assert_eq!(p.set_level_by_operator(Level::L0), Ok(Level::L0));
    for by in [Source::Brain { confidence: 1.0 }, Source::Remote] {
        assert!(matches!(p.set_level(Level::L3, &by), Err(PolicyError::RaiseNotByOperator { .. })));
        assert_eq!(p.level(), Level::L0);
    }
    p.set_level(Level::L3, &Source::Operator).unwrap();
    assert_eq!(p.set_level(Level::L1, &Source::Remote), Ok(Level::L1), "anyone may lower the level");
}

#[test]
fn faults_lower_the_level_as_documented() {
    let b = board();
    let mut b5 = b.clone();
    b5.autonomy.cap = Level::L5;
    let cases = [
        (Fault::DeviceFault, [Level::L0, Level::L1, Level::L1, Level::L1, Level::L1, Level::L1]),
        (Fault::OperatorLinkLost, [Level::L0, Level::L1, Level::L1, Level::L1, Level::L4, Level::L5]),
        (Fault::StepFailed, [Level::L0, Level::L1, Level::L2, Level::L2, Level::L2, Level::L2]),
        (Fault::BatteryLow, [Level::L0, Level::L1, Level::L2, Level::L2, Level::L2, Level::L2]),
        (Fault::RuleViolation, [Level::L0, Level::L1, Level::L1, Level::L1, Level::L1, Level::L1]),
        (Fault::EmergencyStop, [Level::L0, Level::L1, Level::L1, Level::L1, Level::L1, Level::L1]),
    ];
    for (fault, expected) in cases {
        for (from, want) in Level::ALL.into_iter().zip(expected) {
            let mut p = Policy::new(&b5);
            p.set_level_by_operator(from).unwrap();
            assert_eq!(p.lower_for_fault(fault), want, "{} at {from}", fault.as_str());
            assert_eq!(p.level(), want);
        }
    }
}

#[test]
fn anomaly_response_by_level() {
    let b = board();
    let mut p = Policy::new(&b);
    for (level, want) in [
        (Level::L0, AnomalyResponse::StopAndReport),
        (Level::L2, AnomalyResponse::StopAndReport),
        (Level::L3, AnomalyResponse::RequestTakeover { timeout: Duration::from_secs(10) }),
        (Level::L4, AnomalyResponse::MinimalRiskStop),
    ] {
        p.set_level_by_operator(level).unwrap();
        assert_eq!(p.on_anomaly(), want, "{level}");
    }
}

#[test]
fn a_1000_m_drive_names_the_single_move_limit_and_the_geofence() {
    let r = at(Level::L4, vec![drive(1000.0)]).unwrap_err();
    assert_eq!(r.kind, RejectionKind::OverSingleMove);
    assert!(r.has(&RejectionKind::OutsideGeofence), "{r}");
    assert!(r.reason.contains("single-move limit of 8 m"), "{r}");
    assert!(r.reason.contains("geofence"), "{r}");
}

#[test]
fn a_turn_and_drive_that_leave_the_house_are_rejected() {
    let r = at(Level::L4, vec![turn(90.0), drive(7.5)]).unwrap_err();
    assert_eq!(r.kind, RejectionKind::OutsideGeofence, "{r}");
    assert_eq!(r.problems[0].step, Some(1));
    assert!(r.reason.contains("(0.00, 7.10)"), "first point outside, sampled every 0.1 m: {r}");
    // The same moves kept inside are accepted, and the path is dead-reckoned.
    let p = at(Level::L4, vec![turn(90.0), drive(6.5)]).unwrap();
    assert_eq!(p.predicted_path.len(), 3);
    let end = p.predicted_path[2];
    assert!(end.x.abs() < 1e-9 && (end.y - 6.5).abs() < 1e-9 && end.heading_deg == 90.0, "{end:?}");
    // Backwards counts too.
    assert_eq!(at(Level::L4, vec![drive(-2.0)]).unwrap_err().kind, RejectionKind::OutsideGeofence);
}

#[test]
fn forbidden_tools_are_rejected() {
    let mut b = board();
    b.rules.forbidden_tools = vec!["gripper".into()];
    let p = Policy::new(&b);
    let grip = prog(vec![say("hi"), Call::new("gripper").with("action", Value::Str("open".into()))]);
    let r = check(&p, &b, &grip, &ctx(Level::L4, Source::Operator)).unwrap_err();
    assert_eq!(r.kind, RejectionKind::ForbiddenTool);
    assert_eq!(r.problems[0].step, Some(1));
    assert!(check(&p, &b, &prog(vec![say("hi")]), &ctx(Level::L4, Source::Operator)).is_ok());
}

#[test]
fn low_battery_refuses_motion_but_not_speech() {
    let b = board();
    let p = Policy::new(&b);
    for battery in [0.1, f64::NAN] {
        let c = RunContext { battery, ..ctx(Level::L4, Source::Operator) };
        let r = check(&p, &b, &prog(vec![say("hi"), drive(1.0)]), &c).unwrap_err();
        assert_eq!(r.kind, RejectionKind::BatteryLow, "{r}");
        assert_eq!(r.problems[0].step, Some(1));
        assert!(check(&p, &b, &prog(vec![say("battery low")]), &c).is_ok());
    }
    let c = RunContext { battery: 0.1, ..ctx(Level::L4, Source::Operator) };
    assert!(check(&p, &b, &prog(vec![drive(1.0)]), &c).unwrap_err().reason.contains("10% is below the 15%"));
}

#[test]
fn unknown_places_are_rejected_and_known_ones_dead_reckoned() {
    let r = at(Level::L4, vec![go_to("narnia")]).unwrap_err();
    assert_eq!(r.kind, RejectionKind::UnknownPlace);
    assert!(r.reason.contains("`narnia`"), "{r}");
    let p = at(Level::L4, vec![go_to("kitchen"), Call::new("dock")]).unwrap();
    assert_eq!((p.predicted_path[1].x, p.predicted_path[1].y), (6.0, 4.75));
    assert_eq!(p.predicted_path[2], Pose::new(0.0, 0.0, 0.0));
    assert!(at(Level::L4, vec![go_to("Home")]).is_ok(), "aliases count");
}

#[test]
fn place_memory_routes_are_followed_and_places_remembered_in_the_plan_are_known() {
    let b = board();
    let mem = PlaceMemory::from_board(&b);
    let p = Policy::new(&b);
    let c = ctx(Level::L4, Source::Operator);
    let plan = prog(vec![go_to("kitchen"), drive(1.0)]);
    let f = p.preflight(&plan, &b.registry(), &c, &mem).unwrap();
    // The last leg runs north from the hallway doorway, so the robot faces +y.
    assert_eq!(f.predicted_path[1], Pose::new(6.0, 4.75, 90.0));
    assert!((f.predicted_path[2].y - 5.75).abs() < 1e-9);
    let spot = prog(vec![
        drive(1.0),
        Call::new("remember_place").with("name", Value::Str("Reading Corner".into())),
        drive(1.0),
        go_to("reading corner"),
    ]);
    let f = p.preflight(&spot, &b.registry(), &c, &mem).unwrap();
    assert_eq!(f.predicted_path[4], Pose::new(1.0, 0.0, 0.0));
}

#[test]
fn speeds_above_the_maximum_are_rejected() {
    let fast = Call::new("drive").with("distance_m", Value::Number(1.0)).with("speed_mps", Value::Number(0.8));
    assert_eq!(at(Level::L4, vec![fast]).unwrap_err().kind, RejectionKind::OverSpeed);
    let set = Call::new("set_speed").with("speed_mps", Value::Number(0.9));
    let r = at(Level::L4, vec![set]).unwrap_err();
    assert!(r.reason.contains("0.9 m/s is above this board's maximum of 0.5 m/s"), "{r}");
}

#[test]
fn step_count_and_validation_are_checked() {
    let rep = |n| Program { stmts: vec![Stmt::Repeat { times: n, body: vec![Stmt::Call(say("hi"))] }] };
    let b = board();
    let p = Policy::new(&b);
    let c = ctx(Level::L4, Source::Operator);
    assert_eq!(check(&p, &b, &rep(201), &c).unwrap_err().kind, RejectionKind::TooManySteps);
    assert_eq!(check(&p, &b, &rep(200), &c).unwrap().unrolled.len(), 200);
    assert_eq!(check(&p, &b, &rep(1_000_000), &c).unwrap_err().kind, RejectionKind::TooManySteps);
    let r = check(&p, &b, &prog(vec![Call::new("fly")]), &c).unwrap_err();
    assert!(matches!(r.kind, RejectionKind::Invalid(_)), "{r:?}");
    assert!(r.reason.contains("unknown tool `fly`"), "{r}");
}

#[test]
fn a_long_list_of_problems_is_summarised() {
    let b = board();
    let p = Policy::new(&b);
    let plan = Program { stmts: vec![Stmt::Repeat { times: 20, body: vec![Stmt::Call(drive(9.0))] }] };
    let r = check(&p, &b, &plan, &ctx(Level::L4, Source::Operator)).unwrap_err();
    assert_eq!(r.problems.len(), 21, "20 over-long drives and one geofence exit");
    assert!(r.reason.ends_with("and 13 more problems"), "{r}");
}

#[test]
fn the_monitor_checks_geofence_with_a_margin_and_battery_while_moving() {
    let b = board();
    let p = Policy::new(&b);
    assert_eq!(p.monitor(Pose::new(1.0, 1.0, 0.0), 0.9, true), Ok(()));
    assert_eq!(p.monitor(Pose::new(-1.55, 0.0, 0.0), 0.9, true), Ok(()), "within the margin");
    assert!(matches!(p.monitor(Pose::new(-2.0, 0.0, 0.0), 0.9, false), Err(RuleViolation::OutsideGeofence { .. })));
    let low = p.monitor(Pose::new(1.0, 1.0, 0.0), 0.1, true).unwrap_err();
    assert_eq!(low.to_string(), "battery at 10% is below the 15% needed for motion");
    assert_eq!(p.monitor(Pose::new(1.0, 1.0, 0.0), 0.1, false), Ok(()), "standing still is fine");
    assert_eq!(p.monitor(Pose::new(f64::NAN, 1.0, 0.0), 0.9, false), Err(RuleViolation::InvalidPose));
    let tight = Policy::new(&b).with_geofence_margin(0.0);
    assert!(tight.monitor(Pose::new(-1.55, 0.0, 0.0), 0.9, true).is_err());
}
