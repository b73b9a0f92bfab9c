//! Tunes the recognizer's beam search on a set of recordings: the acoustic
//! model runs once per file, then every setting of the grid decodes the
//! same log-probabilities, one setting per core at a time, so a grid costs
//! minutes of decoding, not a model run per setting. Prints the word error
//! rate (`robot_models::voice::wer`) of each setting.
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
    for lm_weight in [0.7, 1.0] {
        for word_bonus in [2.5, 3.5, 4.5] {
            for implicit_space in [Some(-1.0), Some(-2.0)] {
                for oov_letter_penalty in [-0.5, -1.0, -2.0] {
                    let name = format!(
                        "lm {lm_weight} word {word_bonus} boundary {implicit_space:?} oov/letter {oov_letter_penalty}"
                    );
                    let config =
                        BeamConfig { lm_weight, word_bonus, implicit_space, oov_letter_penalty, ..base.clone() };
                    grid.push((name, config));
                }
            }
        }
    }
    // Settings decode independently: one thread per core, results printed in grid order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let alphabet = rec.alphabet().clone();
    let per_thread = grid.len().div_ceil(threads).max(1);
    let mut wer = vec![0.0; grid.len()];
    std::thread::scope(|s| {
        for (t, out) in wer.chunks_mut(per_thread).enumerate() {
            let (grid, cases, alphabet, lm) = (&grid, &cases, &alphabet, rec.lm());
            s.spawn(move || {
                for (i, slot) in out.iter_mut().enumerate() {
                    let config = grid[t * per_thread + i].1.clone();
                    let d = BeamDecoder::new(config, alphabet.clone(), lm, &Bias::default());
                    let errors: usize =
                        cases.iter().map(|(r, lp)| edit_distance(r, &wer_words(&d.decode(lp).text))).sum();
                    *slot = 100.0 * errors as f64 / words.max(1) as f64;
                }
            });
        }
    });
    for ((name, _), w) in grid.iter().zip(&wer) {
        println!("{name:<64} WER {w:5.1}%");
    }
    Ok(())
}
