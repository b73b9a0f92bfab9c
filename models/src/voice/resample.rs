//! Streaming conversion of mono audio at any common rate to the 16 kHz the
//! VAD and the speech model expect, with rubato's synchronous FFT resampler
//! (fixed ratio, band-limited, no hand-written filter).
//!
//! Audio arrives in blocks of any length (a WAV reader's, a microphone
//! ring's); [`Resampler16k`] buffers up to one resampler chunk, drops the
//! resampler's fixed delay so output sample `k` lines up with input time
//! `k / 16000` (to within half a sample: rubato rounds its delay), and on [`Resampler16k::finish`] flushes the tail so the
//! output has exactly `ceil(n * 16000 / rate)` samples. 16 kHz input passes
//! through untouched.

use rubato::{FftFixedIn, Resampler};

use super::{VoiceError, SAMPLE_RATE};

/// Lowest and highest input rates accepted (telephone to studio).
pub const MIN_RATE: u32 = 8_000;
pub const MAX_RATE: u32 = 192_000;
/// Input frames per resampler call: small enough for a live stream's
/// latency, large enough for the FFT to be cheap.
const CHUNK_IN: usize = 1024;

fn resample_err(e: impl std::fmt::Display) -> VoiceError {
    VoiceError::Resample { reason: e.to_string() }
}

/// A mono stream at `rate` Hz in, the same stream at 16 kHz out.
pub struct Resampler16k {
    rate: u32,
    inner: Option<FftFixedIn<f32>>,
    /// Input not yet a whole chunk.
    pending: Vec<f32>,
    out_buf: Vec<Vec<f32>>,
    /// Resampler delay still to drop from the output.
    skip: usize,
    frames_in: u64,
    frames_out: u64,
}

impl std::fmt::Debug for Resampler16k {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler16k").field("rate", &self.rate).finish_non_exhaustive()
    }
}

impl Resampler16k {
    /// A resampler from `rate` Hz; rates outside
    /// [`MIN_RATE`]..=[`MAX_RATE`] are unsupported.
    pub fn new(rate: u32) -> Result<Resampler16k, VoiceError> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(VoiceError::UnsupportedRate { rate, min: MIN_RATE, max: MAX_RATE });
        }
        let inner = if rate == SAMPLE_RATE {
            None
        } else {
            Some(FftFixedIn::<f32>::new(rate as usize, SAMPLE_RATE as usize, CHUNK_IN, 2, 1).map_err(resample_err)?)
        };
        let (out_buf, skip) = match &inner {
            Some(r) => (r.output_buffer_allocate(true), r.output_delay()),
            None => (Vec::new(), 0),
        };
        Ok(Resampler16k {
            rate,
            inner,
            pending: Vec::with_capacity(CHUNK_IN),
            out_buf,
            skip,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// The input rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Output samples the input so far stands for.
    fn expected_out(&self) -> u64 {
        (self.frames_in * u64::from(SAMPLE_RATE)).div_ceil(u64::from(self.rate))
    }

    /// Appends to `out` the 16 kHz samples `input` completes.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), VoiceError> {
        self.frames_in += input.len() as u64;
        if self.inner.is_none() {
            out.extend_from_slice(input);
            self.frames_out += input.len() as u64;
            return Ok(());
        }
        let mut rest = input;
        while !rest.is_empty() {
            let take = (CHUNK_IN - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == CHUNK_IN {
                self.run_chunk(out, false)?;
            }
        }
        Ok(())
    }

    /// Runs the resampler on `pending` (zero-padded when `partial`) and
    /// appends what is past the delay, up to the expected length.
    fn run_chunk(&mut self, out: &mut Vec<f32>, partial: bool) -> Result<(), VoiceError> {
        let Some(r) = self.inner.as_mut() else { return Ok(()) };
        let input = [std::mem::take(&mut self.pending)];
        let (_, n) = if partial {
            // rubato wants `None`, not an empty slice, for "no more input".
            let some = (!input[0].is_empty()).then_some(&input[..]);
            r.process_partial_into_buffer(some, &mut self.out_buf, None)
        } else {
            r.process_into_buffer(&input[..], &mut self.out_buf, None)
        }
        .map_err(resample_err)?;
        let [mut pending] = input;
        pending.clear();
        self.pending = pending;
        let produced = &self.out_buf[0][..n];
        let skip = self.skip.min(produced.len());
        self.skip -= skip;
        let room = self.expected_out().saturating_sub(self.frames_out);
        let keep = &produced[skip..][..(produced.len() - skip).min(room as usize)];
        out.extend_from_slice(keep);
        self.frames_out += keep.len() as u64;
        Ok(())
    }

    /// Flushes the tail: after this `out` holds all
    /// `ceil(n * 16000 / rate)` samples of the `n` pushed. The resampler
    /// can then take a new stream.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), VoiceError> {
        if self.inner.is_some() && self.frames_in > 0 {
            // Zero chunks push the delayed tail out; a few always suffice
            // (the delay is half an FFT block), the bound only guards a bug.
            for _ in 0..16 {
                if self.frames_out >= self.expected_out() {
                    break;
                }
                self.run_chunk(out, true)?;
            }
        }
        self.reset()
    }

    /// Starts a new stream at the same rate.
    pub fn reset(&mut self) -> Result<(), VoiceError> {
        *self = Resampler16k::new(self.rate)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5).collect()
    }

    fn resample_in_blocks(rate: u32, input: &[f32], block: usize) -> Vec<f32> {
        let mut r = Resampler16k::new(rate).unwrap();
        let mut out = Vec::new();
        for b in input.chunks(block) {
            r.push(b, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn lengths_are_exact_for_common_rates_and_block_sizes() {
        for rate in [8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 96_000] {
            for n in [0usize, 1, 999, 12_345, rate as usize] {
                let input = tone(rate, 440.0, n);
                let want = (n as u64 * 16_000).div_ceil(u64::from(rate)) as usize;
                for block in [7, 1024, 5000] {
                    assert_eq!(resample_in_blocks(rate, &input, block).len(), want, "rate {rate} n {n} block {block}");
                }
            }
        }
    }

    #[test]
    fn a_tone_keeps_its_phase_and_level() {
        for rate in [8_000, 44_100, 48_000] {
            let out = resample_in_blocks(rate, &tone(rate, 440.0, rate as usize), 333);
            let want = tone(16_000, 440.0, 16_000);
            // Away from the edges the output is the same tone sampled at 16 kHz,
            // up to rubato's delay rounding (half an output sample at most:
            // 0.043 at 440 Hz and amplitude 0.5); a whole sample would be 0.086.
            let err = out[2000..14_000].iter().zip(&want[2000..14_000]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 0.045, "rate {rate}: max error {err}");
        }
    }

    #[test]
    fn content_above_8khz_is_filtered_out() {
        let out = resample_in_blocks(48_000, &tone(48_000, 12_000.0, 48_000), 1000);
        let rms = (out[2000..14_000].iter().map(|s| s * s).sum::<f32>() / 12_000.0).sqrt();
        assert!(rms < 0.01, "12 kHz leaked into 16 kHz output: rms {rms}");
    }

    #[test]
    fn odd_rates_are_refused() {
        for rate in [0, 7_999, 192_001, u32::MAX] {
            assert!(matches!(Resampler16k::new(rate), Err(VoiceError::UnsupportedRate { .. })), "{rate}");
        }
    }
}
