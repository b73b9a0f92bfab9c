//! `robot plan "<text>"`: what the on-board brain makes of one utterance,
//! as the spec's JSON object (`--json`, see `shared/spec/rover-tools.md`) or
//! in a human form. Nothing runs; `robot sim` runs plans. Also holds how the
//! CLI finds and loads the brain, shared with `robot eval plan` and
//! `robot sim`.
//!
//! `robot plan --audio FILE.wav` plans what is said in a recording: the
//! file is cut into utterances by the voice activity detector
//! (`models/vad`), each is transcribed by the speech recognizer (`--asr`,
//! default `models/asr`) biased toward the board's words and the place and
//! object names it knows (`--memory`), the transcripts are joined with
//! ", " and planned like typed text. The JSON gains `"transcript"`; the
//! human form starts with `heard: ...`. A recording without speech prints
//! `{"status": "no_speech", "transcript": ""}` (or `no speech in FILE`) and
//! exits with status 3; an unreadable, truncated or non-WAV file is an
//! error naming the file (status 1). When the recognizer's runner-up
//! readings plan something else too often
//! ([`robot_models::voice::agreement`]), the plan is withheld: the JSON is
//! `{"status": "unclear", "transcript", "agreement", "plan", "rival"}`
//! (the human form ends `say that again`) and the exit status is 4.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use robot_hal::board::BoardFile;
use robot_models::brain::{Brain, PlanResult, PlanStatus, Timing};
use robot_models::voice::{
    understand, AgreementConfig, Alternative, Bias, Listener, SpeechToText, Transcript, Understood, Vad, VoiceConfig,
};
use robot_runtime::memory::MemoryStore;
use robot_runtime::voice_bias::{bias_for, memory_names};

#[derive(clap::Args)]
pub struct PlanArgs {
    /// Board file whose tools the plan may use.
    #[arg(long)]
    pub board: Option<PathBuf>,
    /// Brain asset folder (default: models/brain).
    #[arg(long)]
    pub brain: Option<PathBuf>,
    /// Print the spec's JSON object.
    #[arg(long)]
    pub json: bool,
    /// Print load, encode and decode times to stderr.
    #[arg(long)]
    pub timing: bool,
    /// Plan what is said in this WAV file instead of text.
    #[arg(long, conflicts_with = "text")]
    pub audio: Option<PathBuf>,
    /// Speech recognizer folder for `--audio` (default: models/asr).
    #[arg(long)]
    pub asr: Option<PathBuf>,
    /// Speech-to-text engine: `on-device` (default) or `wyoming://HOST:PORT`.
    #[arg(long)]
    pub stt: Option<String>,
    /// Voice activity detector folder for `--audio` (default: models/vad).
    #[arg(long)]
    pub vad: Option<PathBuf>,
    /// Memory file whose places and objects the recognizer should expect.
    #[arg(long)]
    pub memory: Option<PathBuf>,
    /// With `--audio`: least agreement of the recognizer's likely readings
    /// on the plan (0..=1, default 0.7; 0 always plans the best reading).
    #[arg(long, requires = "audio")]
    pub min_agreement: Option<f32>,
    /// What to plan; several words are joined with spaces.
    #[arg(required_unless_present = "audio", num_args = 1.., allow_hyphen_values = true)]
    pub text: Vec<String>,
}

/// Exit status of `robot plan --audio` when the recording holds no speech.
pub const NO_SPEECH_EXIT: u8 = 3;
/// Exit status of `robot plan --audio` when what was heard is too unclear to plan.
pub const UNCLEAR_EXIT: u8 = 4;

/// The board's bias plus the names in the memory file, when given (it must exist).
pub fn load_bias(board: &BoardFile, memory: Option<&Path>) -> anyhow::Result<Bias> {
    let mut names = Vec::new();
    if let Some(db) = memory {
        anyhow::ensure!(db.exists(), "memory file {} does not exist", db.display());
        let store = MemoryStore::open(db).with_context(|| format!("cannot open memory {}", db.display()))?;
        names = memory_names(&store).with_context(|| format!("cannot read names from {}", db.display()))?;
    }
    Ok(bias_for(board, &names))
}

/// The voice path's agreement settings, with `--min-agreement` when given.
pub fn agreement_config(min_agreement: Option<f32>) -> anyhow::Result<AgreementConfig> {
    let mut c = AgreementConfig::default();
    if let Some(m) = min_agreement {
        anyhow::ensure!((0.0..=1.0).contains(&m), "--min-agreement must be within 0..=1, not {m}");
        c.min_agreement = m;
    }
    Ok(c)
}

/// A recording's voice path up to the brain: VAD, then speech to text.
pub struct AudioFront {
    pub listener: Listener,
    pub stt: Box<dyn SpeechToText>,
    pub bias: Bias,
    pub config: VoiceConfig,
}

/// What was heard in one recording.
#[derive(Debug, Clone)]
pub struct Heard {
    /// The non-empty segment transcripts joined with ", ".
    pub transcript: String,
    /// Runner-up readings of the whole recording, best first: `transcript`
    /// with one segment replaced by one of its alternatives.
    pub alternatives: Vec<Alternative>,
    pub segments: Vec<Transcript>,
    /// Seconds of the recording.
    pub audio_seconds: f64,
}

impl AudioFront {
    pub fn load(vad_dir: Option<&Path>, stt: Box<dyn SpeechToText>, bias: Bias) -> anyhow::Result<AudioFront> {
        let dir = vad_dir.map(Path::to_path_buf).unwrap_or_else(|| robot_runtime::assets::model_dir("vad"));
        let vad = Vad::load(&dir)
            .with_context(|| format!("cannot load the voice activity detector from {}", dir.display()))?;
        let config = VoiceConfig::default();
        Ok(AudioFront { listener: Listener::new(vad, config.endpoint.clone())?, stt, bias, config })
    }

    /// Cuts `path` into utterances and transcribes each.
    pub fn hear(&mut self, path: &Path) -> anyhow::Result<Heard> {
        let segments = self
            .listener
            .run_file(path, self.config.wav)
            .with_context(|| format!("cannot read audio {}", path.display()))?;
        let audio_seconds = robot_models::voice::WavStream::open(path, self.config.wav)
            .map(|s| s.info().seconds())
            .unwrap_or_else(|_| segments.last().map_or(0.0, |s| s.end_seconds()));
        let mut out = Vec::with_capacity(segments.len());
        for s in &segments {
            out.push(
                self.stt
                    .transcribe(&s.samples, &self.bias)
                    .with_context(|| format!("cannot transcribe {}", path.display()))?,
            );
        }
        let join = |texts: Vec<&str>| texts.into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join(", ");
        let transcript = join(out.iter().map(|t| t.text.trim()).collect());
        let mut alternatives: Vec<Alternative> = Vec::new();
        for (i, seg) in out.iter().enumerate() {
            for alt in &seg.alternatives {
                let texts = out.iter().enumerate().map(|(j, t)| if j == i { alt.text.trim() } else { t.text.trim() });
                let text = join(texts.collect());
                if text != transcript && alternatives.iter().all(|a| a.text != text) {
                    alternatives.push(Alternative { text, score: alt.score });
                }
            }
        }
        alternatives.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(Heard { transcript, alternatives, segments: out, audio_seconds })
    }
}

fn run_audio(a: &PlanArgs, path: &Path, board: &BoardFile) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut brain = load_brain(board, a.brain.as_deref())?;
    let stt = super::stt::open_stt(a.stt.as_deref(), a.asr.as_deref())?;
    let bias = load_bias(board, a.memory.as_deref())?;
    let mut front = AudioFront::load(a.vad.as_deref(), stt, bias)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let heard_at = Instant::now();
    let heard = front.hear(path)?;
    let asr_ms = heard_at.elapsed().as_secs_f64() * 1e3;
    if heard.transcript.is_empty() {
        if a.json {
            println!(
                "{}",
                serde_json::json!({"status": "no_speech", "transcript": "", "audio": path.display().to_string()})
            );
        } else {
            println!("no speech in {}", path.display());
        }
        return Ok(ExitCode::from(NO_SPEECH_EXIT));
    }
    let agreement = agreement_config(a.min_agreement)?;
    let u = understand(&mut brain, &heard.transcript, &heard.alternatives, &agreement).context("planning failed")?;
    if a.json {
        println!("{}", understood_json(&u)?);
    } else {
        println!("heard: {}\n{}", heard.transcript, describe_understood(&u));
    }
    if a.timing {
        eprintln!("timing: vad + speech recognition {asr_ms:.1} ms for {:.2} s of audio", heard.audio_seconds);
        eprintln!("timing: {} reading(s) planned", u.readings);
        print_timing(Some(load_ms), &u.timing);
    }
    if !u.is_clear() {
        return Ok(ExitCode::from(UNCLEAR_EXIT));
    }
    Ok(ExitCode::SUCCESS)
}

/// The default brain folder: `$ROBOT_MODELS/brain`, `models/brain` in the
/// working directory, an install (`/usr/share/robot/models/brain`) or the
/// repository the binary was built in (search order in `robot_runtime::assets`).
pub fn default_brain() -> PathBuf {
    robot_runtime::assets::model_dir("brain")
}

/// Loads the brain for a board's tools.
pub fn load_brain(board: &BoardFile, dir: Option<&Path>) -> anyhow::Result<Brain> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(default_brain);
    Brain::load(&dir, &board.registry()).with_context(|| format!("cannot load the brain from {}", dir.display()))
}

/// The JSON of a voice plan: the spec's plan object plus `"transcript"`,
/// or, when the readings disagree, `"status": "unclear"` with the withheld
/// plan and the likeliest rival reading.
pub fn understood_json(u: &Understood) -> anyhow::Result<serde_json::Value> {
    if u.is_clear() {
        let mut v = serde_json::to_value(&u.plan)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("transcript".into(), u.transcript.clone().into());
        }
        return Ok(v);
    }
    let rival = match &u.rival {
        Some(r) => {
            Some(serde_json::json!({"transcript": r.text, "score": r.score, "plan": serde_json::to_value(&r.plan)?}))
        }
        None => None,
    };
    Ok(serde_json::json!({
        "status": "unclear", "transcript": u.transcript, "agreement": u.agreement,
        "plan": serde_json::to_value(&u.plan)?, "rival": rival,
    }))
}

/// The human form of a voice plan (after the `heard:` line).
pub fn describe_understood(u: &Understood) -> String {
    if u.is_clear() {
        return describe(&u.plan);
    }
    let mut s = format!(
        "unclear: only {:.0}% of the likely readings' weight agrees on this plan; say that again\n  best reading plans: {}",
        100.0 * u.agreement,
        u.plan.program_text()
    );
    if let Some(r) = &u.rival {
        let other = match r.plan.status {
            PlanStatus::Ok => r.plan.program_text(),
            PlanStatus::Unsupported => "unsupported".into(),
        };
        s.push_str(&format!("\n  also heard: \"{}\" -> {other}", r.text));
    }
    s
}

/// The human form of a plan.
pub fn describe(r: &PlanResult) -> String {
    match r.status {
        PlanStatus::Ok => {
            let mut s = format!("plan: {}\nconfidence: {:.2}", r.program_text(), r.confidence);
            for (i, c) in r.steps().iter().enumerate() {
                s.push_str(&format!("\n{:>3}. {} {}", i + 1, c.tool, c.args_json()));
            }
            s
        }
        PlanStatus::Unsupported => format!(
            "unsupported: {} (confidence {:.2})",
            r.reason.as_deref().unwrap_or("none of this robot's tools does that"),
            r.confidence
        ),
    }
}

pub fn print_timing(load_ms: Option<f64>, t: &Timing) {
    let load = load_ms.map(|ms| format!("load {ms:.1} ms, ")).unwrap_or_default();
    eprintln!(
        "timing: {load}encode {:.1} ms, decode {:.1} ms ({} steps)",
        t.encode.as_secs_f64() * 1e3,
        t.decode.as_secs_f64() * 1e3,
        t.steps
    );
}

pub fn run(a: PlanArgs) -> anyhow::Result<ExitCode> {
    let board_path = a.board.clone().unwrap_or_else(super::default_board);
    let board = super::load_board(&board_path)?;
    if let Some(path) = &a.audio {
        return run_audio(&a, path, &board);
    }
    let started = Instant::now();
    let mut brain = load_brain(&board, a.brain.as_deref())?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let text = a.text.join(" ");
    let (result, timing) = brain.plan_timed(&text).context("planning failed")?;
    if a.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!("{}", describe(&result));
    }
    if a.timing {
        print_timing(Some(load_ms), &timing);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_withheld_plan_prints_as_unclear_with_its_rival() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if !root.join("models/brain/encoder.onnx").exists() {
            eprintln!("skipped: models/brain is absent");
            return;
        }
        let board = BoardFile::load(root.join("boards/sim-rover.toml")).unwrap();
        let mut brain = load_brain(&board, Some(&root.join("models/brain"))).unwrap();
        let rival = [Alternative { text: "drive forward 3 meters".into(), score: -0.2 }];
        let u = understand(&mut brain, "drive forward 2 meters", &rival, &AgreementConfig::default()).unwrap();
        let v = understood_json(&u).unwrap();
        assert_eq!(v["status"], "unclear");
        assert_eq!(v["transcript"], "drive forward 2 meters");
        assert_eq!(v["plan"]["program"], "drive(distance_m=2)");
        assert_eq!(v["rival"]["transcript"], "drive forward 3 meters");
        assert_eq!(v["rival"]["plan"]["program"], "drive(distance_m=3)");
        let human = describe_understood(&u);
        assert!(human.contains("say that again") && human.contains("drive forward 3 meters"), "{human}");

        let u = understand(&mut brain, "drive forward 2 meters", &[], &AgreementConfig::default()).unwrap();
        let v = understood_json(&u).unwrap();
        assert_eq!((v["status"].as_str(), v["transcript"].as_str()), (Some("ok"), Some("drive forward 2 meters")));
        assert!(describe_understood(&u).starts_with("plan: drive(distance_m=2)"));
    }
}
