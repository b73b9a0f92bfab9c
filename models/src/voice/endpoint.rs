//! End-of-utterance detection: a small state machine over the VAD's
//! per-chunk speech probabilities that decides where an utterance starts and
//! ends, with no I/O and no clock (time is the chunk count), so it is fully
//! testable with synthetic probability sequences.
//!
//! Speech starts when a chunk reaches `onset`, and keeps going while chunks
//! stay at or above the lower `offset` threshold (hysteresis, so a dip inside a
//! word does not cut it). It ends after `hangover_ms` below `offset`; runs
//! shorter than `min_speech_ms` are dropped as clicks. The reported bounds are
//! widened by `pre_roll_ms` before the first voiced chunk (onsets are quiet:
//! the first consonant is often under the threshold) and `post_roll_ms`
//! after the last one. An utterance longer than `max_utterance_ms` is cut there
//! so the audio a caller keeps stays bounded.

use super::{VoiceError, CHUNK_SAMPLES, SAMPLE_RATE};

/// Thresholds and durations of the endpointer; durations are rounded up to
/// whole 32 ms chunks.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// Probability at which speech starts.
    pub onset: f32,
    /// Probability below which a chunk counts as silence once speech started.
    pub offset: f32,
    /// Shorter voiced runs are not utterances.
    pub min_speech_ms: u32,
    /// Silence after speech that ends the utterance.
    pub hangover_ms: u32,
    /// Audio kept before the first voiced chunk.
    pub pre_roll_ms: u32,
    /// Audio kept after the last voiced chunk; at most `hangover_ms`, since
    /// the utterance is reported once the hang-over has passed.
    pub post_roll_ms: u32,
    /// Longest utterance before it is cut.
    pub max_utterance_ms: u32,
}

impl Default for EndpointConfig {
    /// Silero's recommended thresholds (0.5 with a 0.15 hysteresis); a
    /// hang-over of half a second, enough for the pause between "forward"
    /// and "two meters" but short for the end-of-speech latency budget.
    fn default() -> Self {
        EndpointConfig {
            onset: 0.5,
            offset: 0.35,
            min_speech_ms: 250,
            hangover_ms: 500,
            pre_roll_ms: 200,
            post_roll_ms: 200,
            max_utterance_ms: 15_000,
        }
    }
}

/// Milliseconds to chunks, rounded up.
fn chunks(ms: u32) -> u64 {
    let chunk_ms_x1000 = (CHUNK_SAMPLES as u64 * 1_000_000) / SAMPLE_RATE as u64; // 32_000
    (u64::from(ms) * 1000).div_ceil(chunk_ms_x1000)
}

fn ms_to_samples(ms: u32) -> u64 {
    u64::from(ms) * SAMPLE_RATE as u64 / 1000
}

impl EndpointConfig {
    /// Checks the thresholds and durations make sense together.
    pub fn validate(&self) -> Result<(), VoiceError> {
        let bad = |reason: String| Err(VoiceError::Config { reason });
        if !(self.onset > 0.0 && self.onset <= 1.0) {
            return bad(format!("onset {} must be in (0, 1]", self.onset));
        }
        if !(self.offset > 0.0 && self.offset <= self.onset) {
            return bad(format!("offset {} must be in (0, onset = {}]", self.offset, self.onset));
        }
        if self.hangover_ms == 0 {
            return bad("hangover_ms must be positive".into());
        }
        if self.post_roll_ms > self.hangover_ms {
            return bad(format!("post_roll_ms {} exceeds hangover_ms {}", self.post_roll_ms, self.hangover_ms));
        }
        if self.max_utterance_ms < self.min_speech_ms.max(1) {
            return bad(format!(
                "max_utterance_ms {} is below min_speech_ms {}",
                self.max_utterance_ms, self.min_speech_ms
            ));
        }
        Ok(())
    }

    /// Most samples of history a caller must keep to cut any segment out of
    /// the stream: the longest utterance plus both paddings and a chunk.
    pub fn max_history_samples(&self) -> u64 {
        (chunks(self.max_utterance_ms) + 1) * CHUNK_SAMPLES as u64
            + ms_to_samples(self.pre_roll_ms)
            + ms_to_samples(self.post_roll_ms)
    }
}

/// Where an utterance lies in the stream, in samples at 16 kHz from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// First sample, pre-roll included.
    pub start: u64,
    /// One past the last sample, post-roll included.
    pub end: u64,
}

/// What one probability did to the endpointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointEvent {
    /// Speech has lasted `min_speech_ms`: an utterance is under way (a live
    /// loop can show that it is listening). `start` includes the pre-roll.
    Started { start: u64 },
    /// The utterance ended (hang-over elapsed, length cap reached, or the
    /// stream finished).
    Ended(Bounds),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    /// A voiced run from chunk `first` to `last` (inclusive); `confirmed` once
    /// it reached the minimum duration and `Started` was reported.
    Speech {
        first: u64,
        last: u64,
        confirmed: bool,
    },
}

/// The endpointer; one per stream.
#[derive(Debug, Clone)]
pub struct Endpointer {
    cfg: EndpointConfig,
    min_speech: u64,
    hangover: u64,
    max_len: u64,
    /// Index of the next chunk.
    chunk: u64,
    state: State,
}

impl Endpointer {
    /// A new endpointer at the start of a stream.
    pub fn new(cfg: EndpointConfig) -> Result<Endpointer, VoiceError> {
        cfg.validate()?;
        Ok(Endpointer {
            min_speech: chunks(cfg.min_speech_ms).max(1),
            hangover: chunks(cfg.hangover_ms).max(1),
            max_len: chunks(cfg.max_utterance_ms).max(1),
            cfg,
            chunk: 0,
            state: State::Idle,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    /// Chunks seen so far.
    pub fn chunks_seen(&self) -> u64 {
        self.chunk
    }

    /// Earliest sample an utterance reported later can start at: audio before
    /// it can be dropped.
    pub fn keep_from(&self) -> u64 {
        let first = match self.state {
            State::Idle => self.chunk,
            State::Speech { first, .. } => first,
        };
        (first * CHUNK_SAMPLES as u64).saturating_sub(ms_to_samples(self.cfg.pre_roll_ms))
    }

    /// Back to the start of a stream.
    pub fn reset(&mut self) {
        self.chunk = 0;
        self.state = State::Idle;
    }

    fn bounds(&self, first: u64, last: u64, stream_end: u64) -> Bounds {
        let start = (first * CHUNK_SAMPLES as u64).saturating_sub(ms_to_samples(self.cfg.pre_roll_ms));
        let end = ((last + 1) * CHUNK_SAMPLES as u64 + ms_to_samples(self.cfg.post_roll_ms)).min(stream_end);
        Bounds { start, end }
    }

    /// Feeds the probability of the next chunk. A NaN counts as silence.
    pub fn push(&mut self, prob: f32) -> Option<EndpointEvent> {
        let i = self.chunk;
        self.chunk += 1;
        let seen = self.chunk * CHUNK_SAMPLES as u64;
        match self.state {
            State::Idle => {
                if prob >= self.cfg.onset {
                    self.state = State::Speech { first: i, last: i, confirmed: false };
                    return self.confirm();
                }
                None
            }
            State::Speech { first, last, confirmed } => {
                if prob >= self.cfg.offset {
                    if i + 1 - first > self.max_len {
                        // Cut at the cap; the voice goes on as a new utterance.
                        self.state = State::Speech { first: i, last: i, confirmed: false };
                        return if confirmed {
                            Some(EndpointEvent::Ended(self.bounds(first, last, seen)))
                        } else {
                            None
                        };
                    }
                    self.state = State::Speech { first, last: i, confirmed };
                    return self.confirm();
                }
                if i - last >= self.hangover {
                    self.state = State::Idle;
                    return confirmed.then(|| EndpointEvent::Ended(self.bounds(first, last, seen)));
                }
                None
            }
        }
    }

    /// Reports `Started` the first time the current run is long enough.
    fn confirm(&mut self) -> Option<EndpointEvent> {
        if let State::Speech { first, last, confirmed: false } = self.state {
            if last + 1 - first >= self.min_speech {
                self.state = State::Speech { first, last, confirmed: true };
                return Some(EndpointEvent::Started { start: self.bounds(first, last, u64::MAX).start });
            }
        }
        None
    }

    /// Ends the stream: an utterance still open is reported if long enough.
    pub fn finish(&mut self) -> Option<EndpointEvent> {
        let seen = self.chunk * CHUNK_SAMPLES as u64;
        let state = std::mem::replace(&mut self.state, State::Idle);
        match state {
            State::Speech { first, last, confirmed: true } => {
                Some(EndpointEvent::Ended(self.bounds(first, last, seen)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: u64 = CHUNK_SAMPLES as u64;

    fn run(cfg: EndpointConfig, probs: &[f32]) -> Vec<EndpointEvent> {
        let mut e = Endpointer::new(cfg).unwrap();
        let mut out: Vec<EndpointEvent> = probs.iter().filter_map(|&p| e.push(p)).collect();
        out.extend(e.finish());
        out
    }

    fn ended(events: &[EndpointEvent]) -> Vec<Bounds> {
        events
            .iter()
            .filter_map(|e| match e {
                EndpointEvent::Ended(b) => Some(*b),
                _ => None,
            })
            .collect()
    }

    fn seq(parts: &[(f32, usize)]) -> Vec<f32> {
        parts.iter().flat_map(|&(p, n)| std::iter::repeat_n(p, n)).collect()
    }

    fn no_pad() -> EndpointConfig {
        EndpointConfig { pre_roll_ms: 0, post_roll_ms: 0, ..EndpointConfig::default() }
    }

    #[test]
    fn silence_and_noise_give_nothing() {
        assert!(run(EndpointConfig::default(), &[0.0; 500]).is_empty());
        let noise: Vec<f32> = (0..500).map(|i| ((i * 37) % 100) as f32 / 250.0).collect(); // < 0.4
        assert!(run(EndpointConfig::default(), &noise).is_empty());
    }

    #[test]
    fn one_utterance_with_exact_bounds() {
        // 10 silent, 20 voiced, 40 silent chunks; hang-over 500 ms = 16 chunks.
        let ev = run(no_pad(), &seq(&[(0.0, 10), (0.9, 20), (0.0, 40)]));
        assert_eq!(ev.len(), 2, "{ev:?}");
        // min speech 250 ms = 8 chunks: confirmed on the 8th voiced chunk.
        assert_eq!(ev[0], EndpointEvent::Started { start: 10 * C });
        assert_eq!(ended(&ev), vec![Bounds { start: 10 * C, end: 30 * C }]);
    }

    #[test]
    fn end_is_reported_after_exactly_the_hangover() {
        let mut e = Endpointer::new(no_pad()).unwrap();
        for p in seq(&[(0.9, 10)]) {
            e.push(p);
        }
        for k in 1..16 {
            assert_eq!(e.push(0.0), None, "ended early after {k} silent chunks");
        }
        assert!(matches!(e.push(0.0), Some(EndpointEvent::Ended(_))));
        let longer = EndpointConfig { hangover_ms: 1000, ..no_pad() };
        let ev = run(longer, &seq(&[(0.9, 10), (0.0, 20), (0.9, 10), (0.0, 40)]));
        assert_eq!(ended(&ev), vec![Bounds { start: 0, end: 40 * C }], "a 640 ms pause is inside a 1 s hang-over");
    }

    #[test]
    fn pause_longer_than_hangover_splits() {
        let ev = run(no_pad(), &seq(&[(0.9, 10), (0.0, 20), (0.9, 10), (0.0, 40)]));
        assert_eq!(ended(&ev), vec![Bounds { start: 0, end: 10 * C }, Bounds { start: 30 * C, end: 40 * C }]);
    }

    #[test]
    fn hysteresis_keeps_dips_above_offset() {
        let ev = run(no_pad(), &seq(&[(0.9, 5), (0.4, 30), (0.9, 5), (0.0, 40)]));
        assert_eq!(ended(&ev), vec![Bounds { start: 0, end: 40 * C }]);
        // 0.4 alone never starts speech.
        assert!(run(no_pad(), &seq(&[(0.4, 100)])).is_empty());
    }

    #[test]
    fn short_blips_are_dropped() {
        let ev = run(no_pad(), &seq(&[(0.0, 5), (0.95, 7), (0.0, 40), (0.95, 3), (0.0, 40)]));
        assert!(ev.is_empty(), "{ev:?}");
        let ev = run(no_pad(), &seq(&[(0.95, 8), (0.0, 40)]));
        assert_eq!(ended(&ev).len(), 1, "8 chunks = 256 ms >= 250 ms");
    }

    #[test]
    fn padding_is_applied_and_clamped() {
        let cfg = EndpointConfig { pre_roll_ms: 96, post_roll_ms: 64, ..EndpointConfig::default() };
        let ev = run(cfg.clone(), &seq(&[(0.0, 10), (0.9, 20), (0.0, 40)]));
        assert_eq!(ended(&ev), vec![Bounds { start: 10 * C - 1536, end: 30 * C + 1024 }]);
        // Speech from the first chunk: pre-roll clamps at 0; to the last: post-roll at the stream end.
        let ev = run(cfg, &seq(&[(0.9, 20)]));
        assert_eq!(ended(&ev), vec![Bounds { start: 0, end: 20 * C }]);
    }

    #[test]
    fn finish_reports_open_utterance_only_if_long_enough() {
        assert_eq!(ended(&run(no_pad(), &seq(&[(0.0, 3), (0.9, 10)]))), vec![Bounds { start: 3 * C, end: 13 * C }]);
        assert!(run(no_pad(), &seq(&[(0.0, 3), (0.9, 4)])).is_empty());
    }

    #[test]
    fn long_speech_is_cut_at_the_cap() {
        let cfg = EndpointConfig { max_utterance_ms: 1000, ..no_pad() }; // 32 chunks
        let ev = run(cfg, &seq(&[(0.9, 80), (0.0, 40)]));
        assert_eq!(
            ended(&ev),
            vec![
                Bounds { start: 0, end: 32 * C },
                Bounds { start: 32 * C, end: 64 * C },
                Bounds { start: 64 * C, end: 80 * C }
            ]
        );
    }

    #[test]
    fn nan_is_silence_and_keep_from_tracks_the_open_run() {
        let mut e = Endpointer::new(EndpointConfig::default()).unwrap();
        for _ in 0..50 {
            assert_eq!(e.push(f32::NAN), None);
        }
        assert_eq!(e.keep_from(), 50 * C - 3200);
        e.push(0.9);
        e.push(0.9);
        assert_eq!(e.keep_from(), 50 * C - 3200, "pre-roll before the run's first chunk");
        e.reset();
        assert_eq!((e.chunks_seen(), e.keep_from()), (0, 0));
    }

    #[test]
    fn bad_configs_are_refused() {
        let d = EndpointConfig::default();
        for bad in [
            EndpointConfig { onset: 0.0, ..d.clone() },
            EndpointConfig { onset: f32::NAN, ..d.clone() },
            EndpointConfig { offset: 0.6, ..d.clone() },
            EndpointConfig { hangover_ms: 0, ..d.clone() },
            EndpointConfig { post_roll_ms: 600, ..d.clone() },
            EndpointConfig { max_utterance_ms: 100, ..d.clone() },
        ] {
            assert!(matches!(Endpointer::new(bad.clone()), Err(VoiceError::Config { .. })), "{bad:?}");
        }
    }
}
