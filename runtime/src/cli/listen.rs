//! `robot listen`: the live voice loop. Audio from the microphone (cargo
//! feature `mic`, through `cpal`; otherwise, or with `--mic-command`, a
//! capture program such as `arecord`: see `mic_command`) or a WAV file (`--input`, at real time or
//! `--fast`) goes through the voice front end (resampling to 16 kHz, the
//! Silero VAD every 32 ms chunk, the endpointer), each utterance through
//! speech-to-text (the on-device model, or a Wyoming server with `--stt`),
//! and what was heard through the brain, the policy and the executor, on
//! the simulated rover or the board given. The transcript is always printed
//! before the plan and its result, so a user sees what the robot understood
//! even when nothing runs. When the recognizer's likely readings disagree
//! on the plan (`robot_models::voice::agreement`) nothing runs either: the
//! loop prints `unclear ... say that again` with the rival reading.
//!
//! Threads: the audio callback only pushes into the lock-free ring
//! (`robot_models::voice::mic_ring`: never blocks, counts what it drops); the
//! worker owns everything else (models, robot) and drains the ring, sleeping
//! briefly when it is empty so idle listening costs little CPU; the main
//! thread keeps the audio stream alive and turns Ctrl-C into a flag the
//! worker checks between blocks. With `--push-to-talk` a stdin thread
//! toggles listening on each Enter; with `--wake PHRASE` only utterances
//! starting with the phrase are commands (the phrase alone arms the next
//! utterance).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use robot_hal::board::{BoardFile, Level};
use robot_models::brain::{Brain, PlanStatus};
use robot_models::voice::{
    understand, AgreementConfig, Alternative, Bias, EndpointConfig, Listener, MicConsumer, Resampler16k, Segment,
    SpeechToText, Understood, Vad, WavLimits, WavStream, SAMPLE_RATE,
};
use robot_runtime::executor::{Confirmer, NoOperator, RunReport, YesToAll};
use robot_runtime::memory::MemoryStore;
use robot_runtime::voice_bias::{bias_for, memory_names};

use super::mic_command;
use super::run::Robot;
use serde_json::json;

/// How long the worker sleeps when the microphone ring is empty: short next
/// to a 32 ms VAD chunk, long enough that idling is a few wake-ups a chunk.
const IDLE_SLEEP: Duration = Duration::from_millis(15);
/// Seconds after a lone wake phrase during which the next utterance is a command.
const WAKE_WINDOW_S: f64 = 8.0;
/// Longest `--input` file: the loop streams it, so this bounds time, not memory.
const MAX_INPUT_SECONDS: u32 = 3600;

#[derive(clap::Args)]
pub struct ListenArgs {
    /// Board file to run plans on (default: the simulated rover).
    #[arg(long)]
    pub board: Option<PathBuf>,
    /// Speech-to-text engine: `on-device` (default) or `wyoming://HOST:PORT`.
    #[arg(long)]
    pub stt: Option<String>,
    /// On-device speech model folder (default: models/asr).
    #[arg(long)]
    pub asr: Option<PathBuf>,
    /// Voice activity model folder (default: models/vad).
    #[arg(long)]
    pub vad: Option<PathBuf>,
    /// Brain asset folder (default: models/brain).
    #[arg(long)]
    pub brain: Option<PathBuf>,
    /// Listen only while toggled on: press Enter to start, Enter again to stop.
    #[arg(long, conflicts_with = "wake")]
    pub push_to_talk: bool,
    /// Act only on utterances that start with this phrase (it is stripped);
    /// the phrase alone makes the next utterance a command.
    #[arg(long)]
    pub wake: Option<String>,
    /// Least agreement of the recognizer's likely readings on a plan for it
    /// to run (0..=1, default 0.7; 0 acts on the best reading always).
    #[arg(long)]
    pub min_agreement: Option<f32>,
    /// Read audio from this WAV file instead of the microphone.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// With --input: process the file as fast as possible instead of at real time.
    #[arg(long, requires = "input")]
    pub fast: bool,
    /// Microphone to use, by name (default: the system's default input).
    /// Without the `mic` feature it is arecord's `-D` device (e.g. `plughw:1`).
    #[arg(long, conflicts_with = "input")]
    pub device: Option<String>,
    /// Read the microphone from this program's standard output: raw S16_LE
    /// PCM at --mic-rate with --mic-channels (default without the `mic`
    /// feature: `arecord -q -t raw -f S16_LE -r 16000 -c 1`).
    #[arg(long, conflicts_with_all = ["input", "device"])]
    pub mic_command: Option<String>,
    /// Sample rate of --mic-command's output.
    #[arg(long, default_value_t = 16_000, requires = "mic_command")]
    pub mic_rate: u32,
    /// Channels of --mic-command's output (averaged to mono).
    #[arg(long, default_value_t = 1, requires = "mic_command")]
    pub mic_channels: u16,
    /// Silence (ms) that ends an utterance.
    #[arg(long)]
    pub hangover_ms: Option<u32>,
    /// One JSON object per line: heard, plan, result, error.
    #[arg(long)]
    pub json: bool,
    /// Confirm every step in advance.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub level: Option<Level>,
    /// Flight log to append to (JSON lines).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// The robot's memory (SQLite file): its place and object names bias
    /// recognition, and plans can use what it remembers.
    #[arg(long)]
    pub memory: Option<PathBuf>,
}

pub fn run(a: ListenArgs) -> anyhow::Result<ExitCode> {
    let board_path = a.board.clone().unwrap_or_else(super::default_board);
    let board = super::load_board(&board_path)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("cannot handle Ctrl-C")?;
    }
    let ptt = a.push_to_talk.then(|| Arc::new(AtomicBool::new(false)));

    // The microphone is opened before the models load, so a missing device
    // fails fast; its stream starts only once the worker is ready to drain.
    let (source, mic) = match (&a.input, &a.mic_command) {
        (Some(path), _) => (SourceSpec::File { path: path.clone(), fast: a.fast }, None),
        (None, Some(command)) => {
            let (mic, consumer, rate) = mic_command::open(command, a.mic_rate, a.mic_channels)?;
            (SourceSpec::Mic { consumer, rate, ends: true }, Some(Capture::Command(mic)))
        }
        (None, None) if cfg!(feature = "mic") => {
            let (mic, consumer, rate) = mic::open(a.device.as_deref())?;
            (SourceSpec::Mic { consumer, rate, ends: false }, Some(Capture::Device(mic)))
        }
        (None, None) => {
            let mut command = mic_command::DEFAULT_COMMAND.to_string();
            if let Some(d) = &a.device {
                command = format!("{command} -D {}", shlex::try_quote(d).context("bad --device name")?);
            }
            let (mic, consumer, rate) = mic_command::open(&command, 16_000, 1)?;
            (SourceSpec::Mic { consumer, rate, ends: true }, Some(Capture::Command(mic)))
        }
    };
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let settings = Settings {
        board,
        board_path,
        stt: a.stt.clone(),
        asr: a.asr.clone(),
        vad: a.vad.clone(),
        brain: a.brain.clone(),
        wake: a.wake.clone(),
        agreement: super::plan::agreement_config(a.min_agreement)?,
        hangover_ms: a.hangover_ms,
        json: a.json,
        yes: a.yes,
        level: a.level,
        log: a.log.clone(),
        memory: a.memory.clone(),
        ptt: ptt.clone(),
    };
    let worker_stop = stop.clone();
    let worker = std::thread::Builder::new()
        .name("listen".into())
        .spawn(move || work(settings, source, &worker_stop, &ready_tx))
        .context("cannot start the listening worker")?;
    // `ready` never arrives when the worker fails while loading.
    let ready = ready_rx.recv().is_ok();
    let (_device_stream, command_stream) = match (ready, mic) {
        (true, Some(Capture::Device(m))) => (Some(m.start()?), None),
        (true, Some(Capture::Command(m))) => (None, Some(m.start()?)),
        _ => (None, None),
    };
    if ready {
        if let Some(flag) = &ptt {
            spawn_push_to_talk(flag.clone())?;
        }
    }
    while !stop.load(Ordering::Relaxed) && !worker.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ctrl-C (or a failed worker) set `stop`; a worker that finished by
    // itself ran out of input, which for a capture program means it exited.
    let interrupted = stop.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let result = match worker.join() {
        Ok(result) => result,
        Err(_) => bail!("the listening worker panicked"),
    };
    if let Some(c) = command_stream {
        let ended = c.finish(interrupted || result.is_err());
        result?;
        ended?;
        return Ok(ExitCode::SUCCESS);
    }
    result.map(|()| ExitCode::SUCCESS)
}

/// Enter toggles listening; the reader is never joined (it may sit in a
/// read on the terminal) and ends with the process.
fn spawn_push_to_talk(flag: Arc<AtomicBool>) -> anyhow::Result<()> {
    eprintln!("push-to-talk: press Enter to start listening, Enter again to stop.");
    std::thread::Builder::new()
        .name("push-to-talk".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
                let on = !flag.load(Ordering::Relaxed);
                flag.store(on, Ordering::Relaxed);
                eprintln!("{}", if on { "listening... (Enter to stop)" } else { "stopped listening" });
            }
            flag.store(false, Ordering::Relaxed);
        })
        .context("cannot start the push-to-talk reader")?;
    Ok(())
}

/// Everything the worker builds its state from (all `Send`).
struct Settings {
    board: BoardFile,
    board_path: PathBuf,
    stt: Option<String>,
    asr: Option<PathBuf>,
    vad: Option<PathBuf>,
    brain: Option<PathBuf>,
    wake: Option<String>,
    agreement: AgreementConfig,
    hangover_ms: Option<u32>,
    json: bool,
    yes: bool,
    level: Option<Level>,
    log: Option<PathBuf>,
    memory: Option<PathBuf>,
    ptt: Option<Arc<AtomicBool>>,
}

enum SourceSpec {
    File {
        path: PathBuf,
        fast: bool,
    },
    /// `ends`: the ring closing is the input's end (a capture program that
    /// exited), not a failed device.
    Mic {
        consumer: MicConsumer,
        rate: u32,
        ends: bool,
    },
}

/// The microphone, opened but not yet streaming.
enum Capture {
    Device(mic::Mic),
    Command(mic_command::CommandMic),
}

/// Where the worker's audio comes from.
enum AudioSource {
    /// A WAV file, already 16 kHz; paced at real time unless `pace` is `None`.
    File {
        stream: Box<WavStream>,
        pace: Option<(Instant, u64)>,
    },
    Mic {
        consumer: MicConsumer,
        rate: u32,
        dropped_seen: u64,
        ends: bool,
    },
}

impl AudioSource {
    fn open(spec: SourceSpec) -> anyhow::Result<AudioSource> {
        Ok(match spec {
            SourceSpec::File { path, fast } => {
                let stream = WavStream::open(&path, WavLimits { max_seconds: MAX_INPUT_SECONDS })
                    .with_context(|| format!("cannot read the audio input {}", path.display()))?;
                AudioSource::File { stream: Box::new(stream), pace: (!fast).then(|| (Instant::now(), 0)) }
            }
            SourceSpec::Mic { consumer, rate, ends } => AudioSource::Mic { consumer, rate, dropped_seen: 0, ends },
        })
    }

    fn rate(&self) -> u32 {
        match self {
            AudioSource::File { .. } => SAMPLE_RATE,
            AudioSource::Mic { rate, .. } => *rate,
        }
    }

    /// Appends the next audio to `out`; `false` once the input has ended.
    fn read(&mut self, out: &mut Vec<f32>, stop: &AtomicBool) -> anyhow::Result<bool> {
        match self {
            AudioSource::File { stream, pace } => {
                let before = out.len();
                let more = stream.next_block(out)?;
                if let Some((started, done)) = pace {
                    *done += (out.len() - before) as u64;
                    let due = *started + Duration::from_secs_f64(*done as f64 / f64::from(SAMPLE_RATE));
                    while !stop.load(Ordering::Relaxed) {
                        let left = due.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        std::thread::sleep(left.min(Duration::from_millis(50)));
                    }
                }
                Ok(more)
            }
            AudioSource::Mic { consumer, dropped_seen, ends, .. } => {
                if consumer.drain_into(out) == 0 {
                    if consumer.is_closed() {
                        if *ends {
                            return Ok(false);
                        }
                        bail!("the microphone stopped");
                    }
                    std::thread::sleep(IDLE_SLEEP);
                }
                let dropped = consumer.dropped();
                if dropped > *dropped_seen {
                    eprintln!("warning: {} microphone samples dropped (the loop fell behind)", dropped - *dropped_seen);
                    *dropped_seen = dropped;
                }
                Ok(true)
            }
        }
    }
}

/// The worker: loads the models and the robot, then listens until the
/// input ends or `stop` is set.
fn work(s: Settings, spec: SourceSpec, stop: &AtomicBool, ready: &mpsc::Sender<()>) -> anyhow::Result<()> {
    let mut source = AudioSource::open(spec)?;
    let vad_dir = s.vad.clone().unwrap_or_else(|| robot_runtime::assets::model_dir("vad"));
    let vad = Vad::load(&vad_dir).with_context(|| format!("cannot load the VAD from {}", vad_dir.display()))?;
    let mut cfg = EndpointConfig::default();
    if let Some(ms) = s.hangover_ms {
        cfg.hangover_ms = ms;
        cfg.post_roll_ms = cfg.post_roll_ms.min(ms);
    }
    let mut listener = Listener::new(vad, cfg).context("bad endpoint settings")?;
    let stt = super::stt::open_stt(s.stt.as_deref(), s.asr.as_deref())?;
    let brain = super::plan::load_brain(&s.board, s.brain.as_deref())?;
    let recorder = super::open_recorder(s.log.as_deref())?;
    let store = match &s.memory {
        Some(db) => Some(MemoryStore::open(db).with_context(|| format!("cannot open memory {}", db.display()))?),
        None => None,
    };
    let names = match &store {
        Some(st) => memory_names(st).context("cannot read names from memory")?,
        None => Vec::new(),
    };
    let bias = bias_for(&s.board, &names);
    let board = s.board.clone();
    let mut robot = Robot::bind(s.board, &s.board_path, recorder, s.yes)?;
    if let Some(st) = store {
        robot.executor().attach_memory(st)?;
    }
    if let Some(level) = s.level {
        robot.executor().policy.set_level_by_operator(level)?;
    }
    // Push-to-talk owns stdin, so nobody is there to answer a confirmation.
    let confirmer: Box<dyn Confirmer> = match (s.yes, &s.ptt) {
        (true, _) => Box::new(YesToAll),
        (false, Some(_)) => Box::new(NoOperator),
        (false, None) => super::confirmer(false),
    };
    let mut loop_ = Loop {
        stt,
        brain,
        bias,
        board,
        names,
        robot,
        confirmer,
        wake: s.wake.as_deref().map(WakeGate::new).transpose()?,
        agreement: s.agreement.clone(),
        out: Printer { json: s.json },
    };
    let mode = match (&s.ptt, &s.wake) {
        (Some(_), _) => "push-to-talk".to_string(),
        (None, Some(w)) => format!("wake phrase \"{w}\""),
        (None, None) => "always listening".to_string(),
    };
    loop_.out.status(&format!("listening ({mode}); Ctrl-C to stop"));
    // The main thread may be gone only if it failed itself; nothing to tell then.
    let _ = ready.send(());

    let mut resampler = Resampler16k::new(source.rate())?;
    let (mut raw, mut pcm, mut events, mut segments) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut was_listening = true;
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        raw.clear();
        pcm.clear();
        let more = match source.read(&mut raw, stop) {
            Ok(m) => m,
            Err(e) => break Err(e),
        };
        resampler.push(&raw, &mut pcm)?;
        if !more {
            resampler.finish(&mut pcm)?;
        }
        let listening = s.ptt.as_ref().is_none_or(|f| f.load(Ordering::Relaxed));
        if listening && !was_listening {
            listener.reset();
        }
        if listening {
            listener.push(&pcm, &mut events, &mut segments)?;
        }
        // Releasing push-to-talk ends what was being said; so does the input's end.
        if (was_listening && !listening) || (listening && !more) {
            listener.finish(&mut events, &mut segments)?;
        }
        was_listening = listening;
        // Start events only matter to a level display, which this loop has not.
        events.clear();
        for seg in segments.drain(..) {
            loop_.utterance(&seg)?;
        }
        if !more {
            break Ok(());
        }
    };
    if stop.load(Ordering::Relaxed) {
        loop_.robot.make_safe();
    }
    result
}

/// Per-utterance state of the loop.
struct Loop {
    stt: Box<dyn SpeechToText>,
    brain: Brain,
    bias: Bias,
    /// The board and the memory names [`Loop::bias`] was built from.
    board: BoardFile,
    names: Vec<String>,
    robot: Robot,
    confirmer: Box<dyn Confirmer>,
    wake: Option<WakeGate>,
    agreement: AgreementConfig,
    out: Printer,
}

impl Loop {
    /// Places remembered since the last utterance (by this robot, or
    /// merged from the fleet) are heard from now on: the names are read
    /// again from memory, a small indexed query, and the bias is rebuilt
    /// only when they changed. A read error keeps the names it had.
    fn refresh_names(&mut self) {
        let Some(store) = self.robot.executor().memory() else { return };
        match memory_names(store) {
            Ok(names) if names != self.names => {
                self.bias = bias_for(&self.board, &names);
                self.names = names;
            }
            Ok(_) => {}
            Err(e) => self.out.error(&format!("cannot read names from memory: {e}")),
        }
    }

    /// Transcribes, prints what was heard, and plans and runs a command.
    /// Recognition and planning failures are reported and the loop goes on.
    fn utterance(&mut self, seg: &Segment) -> anyhow::Result<()> {
        self.refresh_names();
        let t = match self.stt.transcribe(&seg.samples, &self.bias) {
            Ok(t) => t,
            Err(e) => {
                self.out.error(&format!("speech recognition failed: {e:#}"));
                return Ok(());
            }
        };
        self.out.heard(seg, &t);
        if t.text.is_empty() {
            return Ok(());
        }
        let (command, alternatives) = match self.wake.as_mut() {
            None => (t.text.clone(), t.alternatives.clone()),
            Some(w) => match w.check(&t.text, seg.start_seconds()) {
                Gate::Command(c) => {
                    let alts = w.alternatives_of(&t.text, &t.alternatives);
                    (c, alts)
                }
                Gate::Armed => {
                    self.out.status("wake phrase heard; say the command");
                    return Ok(());
                }
                Gate::Ignored => {
                    self.out.status("no wake phrase; ignored");
                    return Ok(());
                }
            },
        };
        let understood = match understand(&mut self.brain, &command, &alternatives, &self.agreement) {
            Ok(u) => u,
            Err(e) => {
                self.out.error(&format!("the brain failed: {e}"));
                return Ok(());
            }
        };
        if !understood.is_clear() {
            // Acting on a guess is worse than asking: the plan is shown, not run.
            self.out.unclear(&understood)?;
            return Ok(());
        }
        let plan = understood.plan;
        self.out.plan(&plan)?;
        if let (PlanStatus::Ok, Some(program)) = (plan.status, plan.program.as_ref()) {
            let report = self.robot.run_brain(program, plan.confidence, self.confirmer.as_mut());
            self.out.report(&report)?;
        }
        Ok(())
    }
}

/// The loop's output: human lines, or one JSON object per line.
struct Printer {
    json: bool,
}

impl Printer {
    fn heard(&self, seg: &Segment, t: &robot_models::voice::Transcript) {
        if self.json {
            let line = json!({
                "event": "heard",
                "text": t.text,
                "start_s": seg.start_seconds(),
                "end_s": seg.end_seconds(),
                "engine": t.engine,
                "confidence": t.confidence,
                "compute_ms": t.compute_seconds * 1e3,
            });
            println!("{line}");
        } else if t.text.is_empty() {
            println!("heard: (nothing recognised)");
        } else {
            println!("heard: {}", t.text);
        }
    }

    fn unclear(&self, u: &Understood) -> anyhow::Result<()> {
        if self.json {
            println!("{}", json!({ "event": "unclear", "plan": super::plan::understood_json(u)? }));
        } else {
            println!("{}", super::plan::describe_understood(u));
        }
        Ok(())
    }

    fn plan(&self, plan: &robot_models::brain::PlanResult) -> anyhow::Result<()> {
        if self.json {
            println!("{}", json!({ "event": "plan", "plan": serde_json::to_value(plan)? }));
        } else {
            println!("{}", super::plan::describe(plan));
        }
        Ok(())
    }

    fn report(&self, report: &RunReport) -> anyhow::Result<()> {
        if self.json {
            println!("{}", json!({ "event": "result", "report": serde_json::to_value(report)? }));
        } else {
            super::exec::print_report(report);
        }
        Ok(())
    }

    fn status(&self, msg: &str) {
        if self.json {
            println!("{}", json!({ "event": "status", "message": msg }));
        } else {
            eprintln!("{msg}");
        }
    }

    fn error(&self, msg: &str) {
        if self.json {
            println!("{}", json!({ "event": "error", "message": msg }));
        } else {
            eprintln!("error: {msg}");
        }
    }
}

/// Lower-case words with punctuation trimmed from their ends ("meters." is
/// "meters", "2.5" and "don't" stay whole).
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The wake-phrase rule.
#[derive(Debug)]
struct WakeGate {
    phrase: Vec<String>,
    /// Audio time until which an utterance without the phrase is a command.
    armed_until: Option<f64>,
}

#[derive(Debug, PartialEq)]
enum Gate {
    /// A command (the phrase stripped).
    Command(String),
    /// The phrase alone: the next utterance is a command.
    Armed,
    Ignored,
}

impl WakeGate {
    fn new(phrase: &str) -> anyhow::Result<WakeGate> {
        let phrase = words(phrase);
        if phrase.is_empty() {
            bail!("the wake phrase has no words");
        }
        Ok(WakeGate { phrase, armed_until: None })
    }

    /// The runner-up readings of `text` as commands, after [`WakeGate::check`]
    /// gave `text`'s command: when `text` began with the phrase, each reading
    /// that also does loses it and the others are dropped (they did not hear
    /// the phrase); when the gate was armed, they stand as they are.
    fn alternatives_of(&self, text: &str, alternatives: &[Alternative]) -> Vec<Alternative> {
        if !words(text).starts_with(&self.phrase) {
            return alternatives.to_vec();
        }
        alternatives
            .iter()
            .filter_map(|a| {
                let w = words(&a.text);
                let rest = w.strip_prefix(self.phrase.as_slice())?.join(" ");
                (!rest.is_empty()).then_some(Alternative { text: rest, score: a.score })
            })
            .collect()
    }

    /// Judges an utterance starting at `at_s` seconds of audio.
    fn check(&mut self, text: &str, at_s: f64) -> Gate {
        let w = words(text);
        if w.starts_with(&self.phrase) {
            let rest = w[self.phrase.len()..].join(" ");
            if rest.is_empty() {
                self.armed_until = Some(at_s + WAKE_WINDOW_S);
                return Gate::Armed;
            }
            self.armed_until = None;
            return Gate::Command(rest);
        }
        match self.armed_until.take() {
            Some(until) if at_s <= until && !w.is_empty() => Gate::Command(w.join(" ")),
            _ => Gate::Ignored,
        }
    }
}

#[cfg(feature = "mic")]
mod mic {
    //! The microphone through `cpal` (ALSA on Linux). The stream's callback
    //! converts the device's samples to `f32` in a buffer kept across calls
    //! and pushes them into the ring; it never blocks or waits.

    use anyhow::{bail, Context};
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    use cpal::{SampleFormat, SizedSample, Stream, StreamConfig};
    use robot_models::voice::{mic_ring, MicConsumer, MicProducer};

    /// An opened input device, not yet streaming.
    pub struct Mic {
        device: cpal::Device,
        config: StreamConfig,
        format: SampleFormat,
        producer: MicProducer,
    }

    /// The device named (or the default input), its ring's consumer and rate.
    pub fn open(name: Option<&str>) -> anyhow::Result<(Mic, MicConsumer, u32)> {
        let host = cpal::default_host();
        let device = match name {
            None => host.default_input_device().context("no microphone found (use --input FILE.wav)")?,
            Some(n) => {
                let mut names = Vec::new();
                let mut found = None;
                for d in host.input_devices().context("cannot list the audio inputs")? {
                    let dn = d.name().unwrap_or_default();
                    if dn == n {
                        found = Some(d);
                        break;
                    }
                    names.push(dn);
                }
                match found {
                    Some(d) => d,
                    None => bail!("no audio input named `{n}`; inputs: {}", names.join(", ")),
                }
            }
        };
        let supported = device.default_input_config().context("the microphone reports no usable format")?;
        let format = supported.sample_format();
        let config: StreamConfig = supported.into();
        let rate = config.sample_rate.0;
        // Two seconds of slack for a slow utterance's recognition.
        let capacity = usize::try_from(rate).unwrap_or(48_000) * 2;
        let (producer, consumer) = mic_ring(capacity, config.channels)?;
        Ok((Mic { device, config, format, producer }, consumer, rate))
    }

    impl Mic {
        /// Starts the stream; audio flows into the ring until it is dropped.
        pub fn start(self) -> anyhow::Result<Stream> {
            let Mic { device, config, format, producer } = self;
            let stream = match format {
                SampleFormat::F32 => build::<f32>(&device, &config, producer, |s| s),
                SampleFormat::I16 => build::<i16>(&device, &config, producer, |s| f32::from(s) / 32768.0),
                SampleFormat::I32 => build::<i32>(&device, &config, producer, |s| s as f32 / 2_147_483_648.0),
                SampleFormat::U16 => build::<u16>(&device, &config, producer, |s| (f32::from(s) - 32768.0) / 32768.0),
                SampleFormat::U8 => build::<u8>(&device, &config, producer, |s| (f32::from(s) - 128.0) / 128.0),
                other => bail!("unsupported microphone sample format {other}"),
            }?;
            stream.play().context("cannot start the microphone")?;
            Ok(stream)
        }
    }

    fn build<T: SizedSample + Copy + 'static>(
        device: &cpal::Device,
        config: &StreamConfig,
        mut producer: MicProducer,
        convert: fn(T) -> f32,
    ) -> anyhow::Result<Stream> {
        // Grows to the device's callback size once, then is reused.
        let mut scratch: Vec<f32> = Vec::with_capacity(8192);
        device
            .build_input_stream(
                config,
                move |data: &[T], _: &cpal::InputCallbackInfo| {
                    scratch.clear();
                    scratch.extend(data.iter().map(|&s| convert(s)));
                    producer.push_interleaved(&scratch);
                },
                |e| eprintln!("microphone error: {e}"),
                None,
            )
            .context("cannot open the microphone stream")
    }
}

#[cfg(not(feature = "mic"))]
mod mic {
    //! Built without the `mic` feature: no microphone, files only.

    use robot_models::voice::MicConsumer;

    pub enum Mic {}

    pub fn open(_name: Option<&str>) -> anyhow::Result<(Mic, MicConsumer, u32)> {
        anyhow::bail!("this robot was built without microphone support (cargo feature `mic`); use --input FILE.wav")
    }

    impl Mic {
        pub fn start(self) -> anyhow::Result<()> {
            match self {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_phrase_is_stripped_and_case_and_punctuation_ignored() {
        let mut g = WakeGate::new("Hey Robot").unwrap();
        assert_eq!(
            g.check("hey robot, drive forward 2.5 meters.", 0.0),
            Gate::Command("drive forward 2.5 meters".into())
        );
        assert_eq!(g.check("drive forward", 1.0), Gate::Ignored);
        assert_eq!(g.check("hey", 2.0), Gate::Ignored);
    }

    #[test]
    fn the_phrase_alone_arms_the_next_utterance_for_a_while() {
        let mut g = WakeGate::new("robot").unwrap();
        assert_eq!(g.check("Robot!", 10.0), Gate::Armed);
        assert_eq!(g.check("turn left", 12.0), Gate::Command("turn left".into()));
        // Used up: the next one needs the phrase again.
        assert_eq!(g.check("turn left", 13.0), Gate::Ignored);
        assert_eq!(g.check("robot", 20.0), Gate::Armed);
        assert_eq!(g.check("turn left", 20.0 + WAKE_WINDOW_S + 0.1), Gate::Ignored);
    }

    #[test]
    fn runner_up_readings_lose_the_phrase_or_are_dropped() {
        let g = WakeGate::new("hey robot").unwrap();
        let alt = |t: &str, score| Alternative { text: t.into(), score };
        let alts = [alt("hey robot drive forward three meters", -0.5), alt("he robot drive forward", -1.0)];
        let got = g.alternatives_of("hey robot drive forward two meters", &alts);
        assert_eq!(got, vec![alt("drive forward three meters", -0.5)]);
        // The phrase alone is no command; armed, the readings stand as they are.
        assert!(g.alternatives_of("hey robot turn", &[alt("hey robot", -0.2)]).is_empty());
        assert_eq!(g.alternatives_of("turn left", &alts[1..]), alts[1..].to_vec());
    }

    #[test]
    fn an_empty_wake_phrase_is_refused() {
        assert!(WakeGate::new(" ,, ").is_err());
    }
}
