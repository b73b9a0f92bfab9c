//! `robot eval voice DIR/cases.jsonl`: the whole voice path on a set of
//! recordings, each through the voice activity detector, the speech
//! recognizer and the brain as `robot plan --audio` runs them. Each line is
//! a `robot eval plan` case plus `"wav"` (relative to the file's folder),
//! `"voice"` and `"noise_snr_db"` (`null` for clean audio).
//!
//! Reported: word error rate, clean and noisy; exact-match plan accuracy
//! (the rule of `robot eval plan`) overall, per noise level and per voice;
//! the share of `unsupported` cases still refused; the real-time factor of
//! recognition (VAD + speech-to-text compute over audio duration); and the
//! p50/p95 latency from the end of speech to a validated program, which is
//! the speech recognition of the utterance plus the brain's planning (in a
//! live loop the VAD has already run while the person spoke; its hang-over
//! wait is configuration, not compute, and is not counted).
//!
//! Word error rate: the reference utterance and the transcript both go
//! through `robot_models::normalize` (number words become digits, "two
//! meters" = "2 m", so a spelt-out number is not an error against digits),
//! are lower-cased and split on spaces, and tokens without a letter or digit
//! (punctuation) are dropped; WER = word edit distance / reference words,
//! summed over the cases of a group. A recording in which nothing is heard
//! counts as all its words deleted and as a wrong plan.
//!
//! Plans are withheld as `robot plan --audio` withholds them, when the
//! recognizer's likely readings disagree on the plan
//! ([`robot_models::voice::agreement`]; `--min-agreement 0` turns that
//! off for A/B runs). A withheld plan is not a correct one; the report
//! counts them ("asked to repeat", and how many of them the best reading
//! would have got wrong) and the wrong plans that were not withheld, which
//! are the ones a robot would have run. Like
//! `robot eval plan` this is a report: exit status 0 whatever the numbers,
//! nonzero only when the set or a recording cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use robot_models::brain::PlanStatus;
use serde_json::{json, Value as Json};

use robot_models::voice::understand;
use robot_models::voice::wer::{edit_distance, wer_words};

use super::eval::{plan_matches, read_cases, Case};
use super::plan::{load_bias, AudioFront};
use super::stt::open_stt;

#[derive(clap::Args)]
pub struct EvalVoiceArgs {
    /// JSONL file: `robot eval plan` cases plus "wav", "voice", "noise_snr_db".
    pub file: PathBuf,
    #[arg(long)]
    pub board: Option<PathBuf>,
    /// Brain asset folder (default: models/brain).
    #[arg(long)]
    pub brain: Option<PathBuf>,
    /// Speech recognizer folder (default: models/asr).
    #[arg(long)]
    pub asr: Option<PathBuf>,
    /// Voice activity detector folder (default: models/vad).
    #[arg(long)]
    pub vad: Option<PathBuf>,
    /// Speech-to-text engine: `on-device` (default) or `wyoming://HOST:PORT`.
    #[arg(long)]
    pub stt: Option<String>,
    /// Memory file whose places and objects the recognizer should expect.
    #[arg(long)]
    pub memory: Option<PathBuf>,
    /// Print one JSON object (summary and every case) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Least agreement of the likely readings on a plan for it to count as
    /// acted on (default: the voice path's, 0.7; 0 never withholds).
    #[arg(long)]
    pub min_agreement: Option<f32>,
}

/// One recording of the set.
#[derive(Debug, Clone)]
pub struct VoiceCase {
    pub case: Case,
    pub wav: PathBuf,
    pub voice: String,
    pub noise_snr_db: Option<f64>,
}

/// Reads a voice evaluation set; `wav` paths are resolved against `dir`.
pub fn read_voice_cases(text: &str, dir: &Path) -> anyhow::Result<Vec<VoiceCase>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("line {}", n + 1);
        let mut cases = read_cases(line).with_context(at)?;
        let mut case = cases.pop().with_context(at)?;
        if case.id == "line-1" {
            case.id = format!("line-{}", n + 1);
        }
        let v: Json = serde_json::from_str(line).with_context(at)?;
        let wav = v.get("wav").and_then(Json::as_str).with_context(|| format!("{}: no `wav` string", at()))?;
        let noise_snr_db = match v.get("noise_snr_db") {
            None | Some(Json::Null) => None,
            Some(x) => Some(x.as_f64().with_context(|| format!("{}: `noise_snr_db` must be a number or null", at()))?),
        };
        let voice = v.get("voice").and_then(Json::as_str).unwrap_or("unknown").to_string();
        out.push(VoiceCase { case, wav: dir.join(wav), voice, noise_snr_db });
    }
    Ok(out)
}

/// The noise bucket of a case.
pub fn noise_level(snr: Option<f64>) -> &'static str {
    match snr {
        None => "clean",
        Some(s) if s < 10.0 => "snr <10 dB",
        Some(s) if s < 15.0 => "snr 10-15 dB",
        Some(s) if s < 20.0 => "snr 15-20 dB",
        Some(_) => "snr >=20 dB",
    }
}

/// Running totals of one group of cases.
#[derive(Debug, Clone, Default)]
struct Tally {
    cases: usize,
    correct: usize,
    errors: usize,
    words: usize,
}

impl Tally {
    fn add(&mut self, correct: bool, errors: usize, words: usize) {
        self.cases += 1;
        self.correct += usize::from(correct);
        self.errors += errors;
        self.words += words;
    }
    fn accuracy(&self) -> f64 {
        ratio(self.correct, self.cases)
    }
    fn wer(&self) -> f64 {
        ratio(self.errors, self.words)
    }
    fn json(&self) -> Json {
        json!({"cases": self.cases, "correct": self.correct, "accuracy": self.accuracy(), "wer": self.wer()})
    }
}

fn ratio(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 / of as f64
    }
}

fn bump(groups: &mut Vec<(String, Tally)>, key: &str, correct: bool, errors: usize, words: usize) {
    match groups.iter_mut().find(|g| g.0 == key) {
        Some(g) => g.1.add(correct, errors, words),
        None => {
            let mut t = Tally::default();
            t.add(correct, errors, words);
            groups.push((key.to_string(), t));
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn run(a: EvalVoiceArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let dir = a.file.parent().unwrap_or(Path::new("."));
    let cases =
        read_voice_cases(&text, dir).with_context(|| format!("{} is not a voice evaluation set", a.file.display()))?;
    let board = super::load_board(&a.board.clone().unwrap_or_else(super::default_board))?;
    let mut brain = super::plan::load_brain(&board, a.brain.as_deref())?;
    let bias = load_bias(&board, a.memory.as_deref())?;
    let mut front = AudioFront::load(a.vad.as_deref(), open_stt(a.stt.as_deref(), a.asr.as_deref())?, bias)?;
    let agreement = super::plan::agreement_config(a.min_agreement)?;
    // Asked to repeat, and of those how many the best reading got wrong; wrong plans acted on.
    let (mut unclear, mut unclear_wrong, mut acted_wrong) = (0usize, 0usize, 0usize);

    let (mut all, mut clean, mut noisy) = (Tally::default(), Tally::default(), Tally::default());
    let mut levels: Vec<(String, Tally)> = Vec::new();
    let mut voices: Vec<(String, Tally)> = Vec::new();
    let (mut refused, mut unsupported) = (0usize, 0usize);
    let (mut compute_s, mut audio_s) = (0.0f64, 0.0f64);
    let mut latencies = Vec::with_capacity(cases.len());
    let mut rows = Vec::with_capacity(cases.len());
    for vc in &cases {
        let c = &vc.case;
        let started = Instant::now();
        let heard = front.hear(&vc.wav).with_context(|| format!("{}: cannot hear {}", c.id, vc.wav.display()))?;
        let front_s = started.elapsed().as_secs_f64();
        let stt_s: f64 = heard.segments.iter().map(|t| t.compute_seconds).sum();
        compute_s += front_s;
        audio_s += heard.audio_seconds;
        let (understood, plan_s) = if heard.transcript.is_empty() {
            (None, 0.0)
        } else {
            let t = Instant::now();
            let u = understand(&mut brain, &heard.transcript, &heard.alternatives, &agreement)
                .with_context(|| format!("{}: planning failed", c.id))?;
            (Some(u), t.elapsed().as_secs_f64())
        };
        if !heard.transcript.is_empty() {
            latencies.push((stt_s + plan_s) * 1e3);
        }
        let withheld = understood.as_ref().is_some_and(|u| !u.is_clear());
        let best_ok = understood.as_ref().is_some_and(|u| plan_matches(c, &u.plan));
        let got = understood.as_ref().filter(|u| u.is_clear()).map(|u| &u.plan);
        let ok = got.is_some_and(|g| plan_matches(c, g));
        if withheld {
            unclear += 1;
            unclear_wrong += usize::from(!best_ok);
        } else if got.is_some_and(|g| g.status == PlanStatus::Ok) && !ok {
            acted_wrong += 1;
        }
        let (r, h) = (wer_words(&c.utterance), wer_words(&heard.transcript));
        let errors = edit_distance(&r, &h);
        all.add(ok, errors, r.len());
        if vc.noise_snr_db.is_some() { &mut noisy } else { &mut clean }.add(ok, errors, r.len());
        bump(&mut levels, noise_level(vc.noise_snr_db), ok, errors, r.len());
        bump(&mut voices, &vc.voice, ok, errors, r.len());
        if c.status == PlanStatus::Unsupported {
            unsupported += 1;
            refused += usize::from(got.as_ref().is_some_and(|g| g.status == PlanStatus::Unsupported));
        }
        rows.push(json!({
            "id": c.id, "voice": vc.voice, "noise_snr_db": vc.noise_snr_db, "utterance": c.utterance,
            "transcript": heard.transcript, "word_errors": errors, "reference_words": r.len(), "correct": ok,
            "status": match (&understood, got) {
                (None, _) => "no_speech",
                (Some(_), None) => "unclear",
                (_, Some(g)) if g.status == PlanStatus::Ok => "ok",
                _ => "unsupported",
            },
            "program": understood.as_ref().map(|u| u.plan.program_text()),
            "agreement": understood.as_ref().map(|u| u.agreement),
            "latency_ms": (stt_s + plan_s) * 1e3,
        }));
    }
    latencies.sort_by(f64::total_cmp);
    let rtf = if audio_s > 0.0 { compute_s / audio_s } else { 0.0 };
    let (p50, p95) = (percentile(&latencies, 50.0), percentile(&latencies, 95.0));
    if a.json {
        let group =
            |g: &[(String, Tally)]| g.iter().map(|(k, t)| (k.clone(), t.json())).collect::<serde_json::Map<_, _>>();
        let v = json!({
            "cases": all.cases, "wer": all.wer(), "wer_clean": clean.wer(), "wer_noisy": noisy.wer(),
            "accuracy": all.accuracy(), "accuracy_clean": clean.accuracy(), "accuracy_noisy": noisy.accuracy(),
            "per_noise_level": group(&levels), "per_voice": group(&voices),
            "unsupported_cases": unsupported, "unsupported_refused": refused, "unsupported_refused_rate": ratio(refused, unsupported),
            "asked_to_repeat": unclear, "asked_to_repeat_best_wrong": unclear_wrong, "wrong_plans_acted_on": acted_wrong,
            "min_agreement": agreement.min_agreement,
            "rtf": rtf, "latency_ms_p50": p50, "latency_ms_p95": p95, "audio_seconds": audio_s, "results": rows,
        });
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("cases: {} ({:.1} s of audio)", all.cases, audio_s);
    println!(
        "WER: clean {:.1}% ({} words), noisy {:.1}% ({} words), all {:.1}%",
        100.0 * clean.wer(),
        clean.words,
        100.0 * noisy.wer(),
        noisy.words,
        100.0 * all.wer()
    );
    println!("plan accuracy: {}/{} = {:.1}%", all.correct, all.cases, 100.0 * all.accuracy());
    levels.sort_by(|a, b| a.0.cmp(&b.0));
    for (label, groups) in [("per noise level", &levels), ("per voice", &voices)] {
        println!("  {label}:");
        let width = groups.iter().map(|g| g.0.len()).max().unwrap_or(0);
        for (k, t) in groups {
            println!(
                "    {k:<width$}  {:>4}/{:<4} {:5.1}%   WER {:5.1}%",
                t.correct,
                t.cases,
                100.0 * t.accuracy(),
                100.0 * t.wer()
            );
        }
    }
    println!("unsupported refused: {refused}/{unsupported} = {:.1}%", 100.0 * ratio(refused, unsupported));
    println!(
        "asked to repeat (readings disagree, min agreement {}): {unclear}/{} ({unclear_wrong} of them wrong on the best reading)",
        agreement.min_agreement, all.cases
    );
    println!("wrong plans acted on: {acted_wrong}/{}", all.cases);
    println!("real-time factor: {rtf:.3} (VAD + speech recognition compute / audio)");
    println!("latency end of speech -> program: p50 {p50:.1} ms, p95 {p95:.1} ms over {} utterances", latencies.len());
    let wrong: Vec<&Json> = rows.iter().filter(|r| r["correct"] != true).collect();
    if !wrong.is_empty() {
        println!("failures ({}):", wrong.len());
        for r in wrong {
            println!("  {} [{}] {}", r["id"].as_str().unwrap_or(""), r["voice"].as_str().unwrap_or(""), r["utterance"]);
            println!("    heard: {}", r["transcript"]);
            let program = r["program"].as_str().unwrap_or(r["status"].as_str().unwrap_or(""));
            match r["status"].as_str() {
                Some("unclear") => println!(
                    "    asked to repeat (agreement {:.2}); best reading: {program}",
                    r["agreement"].as_f64().unwrap_or(0.0)
                ),
                _ => println!("    got:   {program}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voice_cases_need_a_wav_and_resolve_it() {
        let line = r#"{"id": "v1", "utterance": "stop", "status": "ok", "steps": [{"tool": "stop", "args": {}}], "wav": "v1.wav", "voice": "x", "noise_snr_db": 12}"#;
        let c = read_voice_cases(line, Path::new("/d")).unwrap();
        assert_eq!(c[0].wav, Path::new("/d/v1.wav"));
        assert_eq!(c[0].noise_snr_db, Some(12.0));
        assert_eq!(noise_level(c[0].noise_snr_db), "snr 10-15 dB");
        assert!(read_voice_cases(r#"{"utterance": "stop", "status": "unsupported"}"#, Path::new(".")).is_err());
        let bad = r#"{"utterance": "s", "status": "unsupported", "wav": "a.wav", "noise_snr_db": "loud"}"#;
        assert!(read_voice_cases(bad, Path::new(".")).is_err());
    }
}
