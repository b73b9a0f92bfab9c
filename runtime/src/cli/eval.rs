//! `robot eval plan FILE.jsonl`: the brain's exact-match accuracy on an
//! evaluation set (`shared/eval/plan-dev.jsonl` and its kind), overall and
//! per tag, every failure with what was expected and what came out, and the
//! latency percentiles. It is a report: the exit code is 0 whatever the
//! accuracy, and nonzero only when the set cannot be read.
//!
//! Each line is `{"id", "utterance", "tag", "status", "steps"}`. A plan
//! matches when the status is the same and, for `ok`, the steps match one
//! for one by the spec's rule (`shared/spec/rover-tools.md`): the same tool,
//! the same argument names, numbers within 2% (or 0.01 absolute), strings
//! equal ignoring case and surrounding spaces. `unsupported` needs no steps.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use robot_hal::program::{steps_from_json, Call, Program, Value};
use robot_models::brain::{PlanResult, PlanStatus};
use serde_json::Value as Json;

#[derive(clap::Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub what: EvalWhat,
}

#[derive(clap::Subcommand)]
pub enum EvalWhat {
    /// Exact-match accuracy of `robot plan` on a JSONL evaluation set.
    Plan(EvalPlanArgs),
    /// Word error rate, plan accuracy and latency of the voice path on
    /// recordings (`robot plan --audio` per case).
    Voice(super::eval_voice::EvalVoiceArgs),
}

#[derive(clap::Args)]
pub struct EvalPlanArgs {
    /// JSONL file: one {"utterance", "status", "steps", "tag", "id"} per line.
    pub file: PathBuf,
    #[arg(long)]
    pub board: Option<PathBuf>,
    /// Brain asset folder (default: models/brain).
    #[arg(long)]
    pub brain: Option<PathBuf>,
    /// Write one JSON line per case with its encode/decode times and decoder
    /// steps (for the side-by-side runtime comparison script).
    #[arg(long)]
    pub timings: Option<PathBuf>,
    /// Exit with status 1 when accuracy is below this percentage (for CI).
    #[arg(long)]
    pub min_accuracy: Option<f64>,
}

/// One line of an evaluation set.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    pub utterance: String,
    pub tag: String,
    pub status: PlanStatus,
    pub steps: Vec<Call>,
}

/// Reads an evaluation set; any unreadable line is an error naming it.
pub fn read_cases(text: &str) -> anyhow::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("line {}", n + 1);
        let v: Json = serde_json::from_str(line).with_context(at)?;
        let utterance =
            v.get("utterance").and_then(Json::as_str).with_context(|| format!("{}: no `utterance` string", at()))?;
        let status = match v.get("status").and_then(Json::as_str) {
            Some("ok") => PlanStatus::Ok,
            Some("unsupported") => PlanStatus::Unsupported,
            other => bail!("{}: `status` must be \"ok\" or \"unsupported\", got {other:?}", at()),
        };
        let steps = match v.get("steps") {
            None | Some(Json::Null) => Vec::new(),
            Some(s) => steps_from_json(s).with_context(at)?,
        };
        if status == PlanStatus::Ok && steps.is_empty() {
            bail!("{}: status \"ok\" needs steps", at());
        }
        let text_of = |k: &str| v.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
        let id = Some(text_of("id")).filter(|s| !s.is_empty()).unwrap_or_else(|| format!("line-{}", n + 1));
        cases.push(Case { id, utterance: utterance.to_string(), tag: text_of("tag"), status, steps });
    }
    Ok(cases)
}

fn value_matches(expected: &Value, got: &Value) -> bool {
    match (expected, got) {
        (Value::Number(e), Value::Number(g)) => (e - g).abs() <= (0.02 * e.abs()).max(0.01),
        (Value::Str(e), Value::Str(g)) => e.trim().to_lowercase() == g.trim().to_lowercase(),
        _ => false,
    }
}

/// The spec's step match: same tool, same argument names, values by kind.
pub fn step_matches(expected: &Call, got: &Call) -> bool {
    expected.tool == got.tool
        && expected.args.len() == got.args.len()
        && expected.args.iter().all(|a| got.get(&a.name).is_some_and(|g| value_matches(&a.value, g)))
}

/// Whether a plan matches its case.
pub fn plan_matches(case: &Case, got: &PlanResult) -> bool {
    if case.status != got.status {
        return false;
    }
    if case.status == PlanStatus::Unsupported {
        return true;
    }
    let steps = got.steps();
    steps.len() == case.steps.len() && case.steps.iter().zip(&steps).all(|(e, g)| step_matches(e, g))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn expected_text(c: &Case) -> String {
    match c.status {
        PlanStatus::Ok => Program::from_calls(c.steps.clone()).to_string(),
        PlanStatus::Unsupported => "unsupported".into(),
    }
}

fn got_text(r: &PlanResult) -> String {
    match r.status {
        PlanStatus::Ok => r.program_text(),
        PlanStatus::Unsupported => {
            format!("unsupported{}", r.reason.as_deref().map(|w| format!(" ({w})")).unwrap_or_default())
        }
    }
}

fn pct(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

pub fn run(a: EvalArgs) -> anyhow::Result<ExitCode> {
    match a.what {
        EvalWhat::Plan(a) => run_plan(a),
        EvalWhat::Voice(a) => super::eval_voice::run(a),
    }
}

fn run_plan(a: EvalPlanArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let cases = read_cases(&text).with_context(|| format!("{} is not an evaluation set", a.file.display()))?;
    let board_path = a.board.clone().unwrap_or_else(super::default_board);
    let board = super::load_board(&board_path)?;
    let mut brain = super::plan::load_brain(&board, a.brain.as_deref())?;

    let mut tags: Vec<(String, usize, usize)> = Vec::new();
    let mut failures = Vec::new();
    let mut latencies = Vec::with_capacity(cases.len());
    let mut passed = 0;
    let mut timing_lines = String::new();
    // (confidence, correct) of every ok-status plan, for calibration.
    let mut calibration = Vec::new();
    for c in &cases {
        let started = Instant::now();
        let (got, timing) = brain.plan_timed(&c.utterance).with_context(|| format!("{}: planning failed", c.id))?;
        let total_ms = started.elapsed().as_secs_f64() * 1e3;
        latencies.push(total_ms);
        let ok = plan_matches(c, &got);
        passed += usize::from(ok);
        calibration.push((got.confidence, ok));
        timing_lines.push_str(
            &serde_json::json!({
                "id": c.id, "utterance": c.utterance, "total_ms": total_ms,
                "encode_ms": timing.encode.as_secs_f64() * 1e3, "decode_ms": timing.decode.as_secs_f64() * 1e3,
                "steps": timing.steps,
            })
            .to_string(),
        );
        timing_lines.push('\n');
        match tags.iter_mut().find(|t| t.0 == c.tag) {
            Some(t) => {
                t.1 += usize::from(ok);
                t.2 += 1;
            }
            None => tags.push((c.tag.clone(), usize::from(ok), 1)),
        }
        if !ok {
            failures.push((c, got));
        }
    }
    println!("accuracy: {passed}/{} = {:.1}%", cases.len(), pct(passed, cases.len()));
    let width = tags.iter().map(|t| t.0.len()).max().unwrap_or(0).max(5);
    for (tag, ok, n) in &tags {
        let tag = if tag.is_empty() { "(none)" } else { tag };
        println!("  {tag:<width$}  {ok:>4}/{n:<4} {:5.1}%", pct(*ok, *n));
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "latency: p50 {:.1} ms, p99 {:.1} ms over {} utterances",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.len()
    );
    println!("calibration: {}", calibration_report(&calibration));
    if let Some(path) = &a.timings {
        std::fs::write(path, &timing_lines).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !failures.is_empty() {
        println!("failures ({}):", failures.len());
        for (c, got) in &failures {
            println!("  {} [{}] {:?}", c.id, c.tag, c.utterance);
            println!("    expected: {}", expected_text(c));
            println!("    got:      {}  (confidence {:.2})", got_text(got), got.confidence);
        }
    }
    match a.min_accuracy {
        Some(min) if pct(passed, cases.len()) < min => {
            eprintln!("accuracy {:.1}% is below --min-accuracy {min}", pct(passed, cases.len()));
            Ok(ExitCode::FAILURE)
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Expected calibration error over five confidence bins, and the accuracy of
/// the plans below and above the policy's default confirmation threshold:
/// a calibrated confidence is one whose value matches how often it is right.
fn calibration_report(points: &[(f64, bool)]) -> String {
    if points.is_empty() {
        return "no plans".to_string();
    }
    let mut bins = [(0usize, 0.0f64, 0usize); 5];
    for &(c, ok) in points {
        let c = if c.is_finite() { c.clamp(0.0, 1.0) } else { 0.0 };
        let b = ((c * 5.0) as usize).min(4);
        bins[b].0 += 1;
        bins[b].1 += c;
        bins[b].2 += usize::from(ok);
    }
    let n = points.len() as f64;
    let ece: f64 = bins
        .iter()
        .filter(|b| b.0 > 0)
        .map(|&(k, sum, right)| (k as f64 / n) * (sum / k as f64 - right as f64 / k as f64).abs())
        .sum();
    let threshold = robot_runtime::policy::DEFAULT_CONFIDENCE_THRESHOLD;
    let low: Vec<_> = points.iter().filter(|p| p.0 < threshold).collect();
    let low_right = low.iter().filter(|p| p.1).count();
    format!(
        "ECE {ece:.3} (5 bins); {} plans below the confirmation threshold {threshold}, {low_right} of them correct",
        low.len()
    )
}

#[cfg(test)]
mod tests {
    use robot_hal::program::parse;

    use super::*;

    fn calls(p: &str) -> Vec<Call> {
        parse(p).unwrap().unrolled().unwrap()
    }

    #[test]
    fn steps_match_by_the_spec_rule() {
        let e = &calls("drive(distance_m=2, speed_mps=0.1)")[0];
        assert!(step_matches(e, &calls("drive(speed_mps=0.1, distance_m=2.039)")[0]));
        assert!(!step_matches(e, &calls("drive(distance_m=2.05, speed_mps=0.1)")[0]));
        assert!(step_matches(e, &calls("drive(distance_m=2, speed_mps=0.109)")[0]), "0.01 absolute");
        assert!(!step_matches(e, &calls("drive(distance_m=2)")[0]), "an argument is missing");
        assert!(!step_matches(e, &calls("turn(angle_deg=2)")[0]));
        let s = &calls(r#"go_to(place="Front Door")"#)[0];
        assert!(step_matches(s, &calls(r#"go_to(place=" front door ")"#)[0]));
        assert!(!step_matches(s, &calls(r#"go_to(place="front doors")"#)[0]));
        assert!(!step_matches(&calls("wait(seconds=1)")[0], &calls(r#"wait(seconds="1")"#)[0]));
    }

    #[test]
    fn plans_match_on_status_and_every_step() {
        let cases = read_cases(concat!(
            r#"{"id": "a", "utterance": "turn left then stop", "tag": "t", "status": "ok", "steps": [{"tool": "turn", "args": {"angle_deg": 90}}, {"tool": "stop", "args": {}}]}"#,
            "\n\n",
            r#"{"utterance": "fly", "status": "unsupported", "steps": []}"#,
            "\n"
        ))
        .unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[1].id, "line-3");
        let ok = PlanResult::ok("", parse("turn(angle_deg=90); stop()").unwrap(), 0.9);
        assert!(plan_matches(&cases[0], &ok));
        let short = PlanResult::ok("", parse("turn(angle_deg=90)").unwrap(), 0.9);
        assert!(!plan_matches(&cases[0], &short));
        let unsupported = PlanResult::unsupported("", 0.9, None);
        assert!(!plan_matches(&cases[0], &unsupported));
        assert!(plan_matches(&cases[1], &unsupported));
        assert!(!plan_matches(&cases[1], &ok));
    }

    #[test]
    fn unreadable_sets_are_errors() {
        for bad in [
            "not json",
            r#"{"status": "ok", "steps": []}"#,
            r#"{"utterance": "x", "status": "maybe"}"#,
            r#"{"utterance": "x", "status": "ok", "steps": []}"#,
            r#"{"utterance": "x", "status": "ok", "steps": [{"tool": 3}]}"#,
        ] {
            assert!(read_cases(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
