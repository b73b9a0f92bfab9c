//! Tunes the recognizer's beam search on a set of recordings: the acoustic
//! model runs once per file, then every setting of the grid decodes the
//! same log-probabilities, so a grid costs seconds, not minutes. Prints the
//! word error rate (`robot_models::voice::wer`) of each setting.
//!
//! ```text
//! cargo run --release -p robot-models --example asr_tune -- SET/cases.jsonl [ASR_DIR [BEAM]]
//! ```
//!
//! `cases.jsonl` lines need `"utterance"` and `"wav"` (relative to the
//! file's folder), as in `robot eval voice`. Tune on a set of your own, not
//! on the evaluation set you report: the grid is chosen to fit it.

use std::path::{Path, PathBuf};

use robot_models::voice::asr::Recognizer;
use robot_models::voice::ctc::{BeamConfig, BeamDecoder};
use robot_models::voice::wer::{edit_distance, wer_words};
use robot_models::voice::{read_wav_16k, Bias, WavLimits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let set = PathBuf::from(args.next().ok_or("usage: asr_tune SET/cases.jsonl [ASR_DIR [BEAM]]")?);
    let asr = args.next().map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("asr"), PathBuf::from);
    let beam: Option<usize> = args.next().map(|b| b.parse()).transpose()?;
    let dir = set.parent().unwrap_or(Path::new("."));
    let mut rec = Recognizer::load(&asr)?;
    let mut cases = Vec::new();
    for line in std::fs::read_to_string(&set)?.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let (Some(text), Some(wav)) = (v["utterance"].as_str(), v["wav"].as_str()) else {
            return Err(format!("{line}: needs \"utterance\" and \"wav\"").into());
        };
        let (_, samples) = read_wav_16k(&dir.join(wav), WavLimits::default())?;
        cases.push((wer_words(text), rec.log_probs(&samples)?));
    }
    let words: usize = cases.iter().map(|c| c.0.len()).sum();
    println!("{} recordings, {words} reference words", cases.len());
    let mut base = rec.beam_config().clone();
    base.beam = beam.unwrap_or(base.beam);
    println!("beam {}", base.beam);
    let mut grid = Vec::new();
    for lm_weight in [0.5, 0.7, 1.0] {
        for word_bonus in [1.5, 2.5, 3.5, 4.5] {
            for implicit_space in [None, Some(-1.0), Some(-2.0), Some(-3.0)] {
                let name = format!("lm {lm_weight} word {word_bonus} boundary {implicit_space:?}");
                grid.push((name, BeamConfig { lm_weight, word_bonus, implicit_space, ..base.clone() }));
            }
        }
    }
    for (name, config) in grid {
        let d = BeamDecoder::new(config, rec.alphabet().clone(), rec.lm(), &Bias::default());
        let errors: usize = cases.iter().map(|(r, lp)| edit_distance(r, &wer_words(&d.decode(lp).text))).sum();
        println!("{name:<44} WER {:5.1}%", 100.0 * errors as f64 / words.max(1) as f64);
    }
    Ok(())
}
