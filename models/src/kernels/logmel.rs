//! The voice frontend's log-mel filterbank: Kaldi-style `fbank` features,
//! computed frame by frame as audio streams in.
//!
//! The definition is `torchaudio.compliance.kaldi.fbank(wave,
//! num_mel_bins=80, window_type="hanning", dither=0.0)` with every other
//! option at its default, so Python training and Rust inference agree
//! (models/training/voice/fbank_fixture.py writes the fixture the tests
//! compare against). Per frame of 400 samples (25 ms at 16 kHz), every 160
//! samples (10 ms), only frames that fit entirely (`snip_edges`): remove the
//! frame's mean, pre-emphasize (`x[j] -= 0.97 x[j-1]`, `x[-1] = x[0]`),
//! multiply by a symmetric Hann window, zero-pad to the next power of two
//! (512), real FFT, power spectrum, 80 triangular filters on the HTK mel scale
//! (`1127 ln(1 + f/700)`, triangles in the mel domain, 20 Hz to Nyquist, the
//! Nyquist bin unused), then `ln(max(energy, f32::EPSILON))`.
//!
//! The FFT is `realfft`'s. The power spectrum and the filterbank + log are the
//! kernels with SIMD paths (tables in the parent module): the power spectrum
//! and the filter sums are bit-identical on every path; the SIMD log is a
//! polynomial within a few ulp of `f32::ln`.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

use super::{active_table, table_or_err, KernelError, KernelPath, Table};

/// Filters per SIMD group: the lanes of the transposed filterbank layout.
pub(super) const GROUP: usize = 8;

/// Longest frame accepted, to bound the FFT size.
const MAX_FRAME: usize = 1 << 16;

/// Most filters accepted.
const MAX_MEL_BINS: usize = 1024;

/// Settings of the filterbank, named after the `kaldi.fbank` arguments they
/// mirror; [`Default`] is the voice frontend's (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct LogMelConfig {
    /// Samples per second of the input.
    pub sample_rate: u32,
    /// Samples per frame (Kaldi `frame_length` in samples); the FFT size is
    /// the next power of two.
    pub frame_length: usize,
    /// Samples between frame starts (Kaldi `frame_shift` in samples).
    pub frame_shift: usize,
    /// Number of triangular mel filters (more than 3, as Kaldi requires).
    pub num_mel_bins: usize,
    /// Lower edge of the first filter in Hz.
    pub low_freq: f32,
    /// Upper edge of the last filter in Hz; `<= 0` counts back from Nyquist.
    pub high_freq: f32,
    /// Pre-emphasis coefficient in `[0, 1]`.
    pub preemphasis: f32,
    /// Subtract each frame's mean before pre-emphasis.
    pub remove_dc_offset: bool,
}

impl Default for LogMelConfig {
    fn default() -> Self {
        LogMelConfig {
            sample_rate: 16_000,
            frame_length: 400,
            frame_shift: 160,
            num_mel_bins: 80,
            low_freq: 20.0,
            high_freq: 0.0,
            preemphasis: 0.97,
            remove_dc_offset: true,
        }
    }
}

/// Why a [`LogMelConfig`] was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LogMelError {
    /// The sample rate is zero.
    #[error("sample rate must be positive")]
    SampleRate,
    /// The frame is shorter than 2 samples or longer than 65536.
    #[error("frame length {0} outside 2..={MAX_FRAME}")]
    FrameLength(usize),
    /// The frame shift is zero.
    #[error("frame shift must be positive")]
    FrameShift,
    /// Kaldi needs more than 3 filters; more than 1024 is refused.
    #[error("number of mel bins {0} outside 4..={MAX_MEL_BINS}")]
    MelBins(usize),
    /// The band edges are not `0 <= low < high <= nyquist`.
    #[error("mel band {low} Hz to {high} Hz does not fit 0..{nyquist} Hz")]
    Band {
        /// Lower edge asked for.
        low: f32,
        /// Upper edge after resolving `<= 0`.
        high: f32,
        /// Half the sample rate.
        nyquist: f32,
    },
    /// The pre-emphasis coefficient is outside `[0, 1]`.
    #[error("pre-emphasis {0} outside [0, 1]")]
    Preemphasis(f32),
    /// The kernel path asked for cannot run here.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// The triangular filters, stored twice: per filter (the reference sums each
/// filter's own bins in order) and transposed in groups of [`GROUP`] filters
/// over the union of their bins, zeros outside each filter (the SIMD paths
/// keep one filter per lane). Adding the exact `+0.0` products of those zeros
/// leaves every partial sum unchanged, so both layouts give identical sums.
#[derive(Debug, Clone)]
pub struct MelFilterbank {
    /// Power-spectrum bins the filters read (`fft_len / 2 + 1`).
    bins: usize,
    /// First bin of each filter.
    pub(super) starts: Vec<usize>,
    /// Filter `m`'s weights are `weights[offsets[m]..offsets[m + 1]]`.
    pub(super) offsets: Vec<usize>,
    pub(super) weights: Vec<f32>,
    /// Per group: first bin, bin count, offset into `transposed`.
    pub(super) groups: Vec<(usize, usize, usize)>,
    /// `transposed[offset + (bin - first) * GROUP + lane]`.
    pub(super) transposed: Vec<f32>,
}

fn mel(freq: f64) -> f64 {
    1127.0 * (1.0 + freq / 700.0).ln()
}

impl MelFilterbank {
    /// The filters of `config`, as `kaldi.get_mel_banks` builds them (in f64).
    pub fn new(config: &LogMelConfig) -> Result<Self, LogMelError> {
        let fft_len = validate(config)?;
        let sample_rate = f64::from(config.sample_rate);
        let nyquist = sample_rate / 2.0;
        let high =
            if config.high_freq <= 0.0 { f64::from(config.high_freq) + nyquist } else { f64::from(config.high_freq) };
        let n = config.num_mel_bins;
        let (mel_low, mel_high) = (mel(f64::from(config.low_freq)), mel(high));
        let delta = (mel_high - mel_low) / (n + 1) as f64;
        let bin_width = sample_rate / fft_len as f64;
        // The Nyquist bin (fft_len / 2) gets no weight, as in Kaldi.
        let bin_mels: Vec<f64> = (0..fft_len / 2).map(|i| mel(bin_width * i as f64)).collect();
        let mut bank = MelFilterbank {
            bins: fft_len / 2 + 1,
            starts: Vec::with_capacity(n),
            offsets: vec![0],
            weights: Vec::new(),
            groups: Vec::new(),
            transposed: Vec::new(),
        };
        for b in 0..n {
            let left = mel_low + b as f64 * delta;
            let center = mel_low + (b + 1) as f64 * delta;
            let right = mel_low + (b + 2) as f64 * delta;
            let dense: Vec<f32> = bin_mels
                .iter()
                .map(|&m| ((m - left) / (center - left)).min((right - m) / (right - center)).max(0.0) as f32)
                .collect();
            let first = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
            let end = dense.iter().rposition(|&w| w > 0.0).map_or(first, |last| last + 1);
            bank.starts.push(first);
            bank.weights.extend_from_slice(&dense[first..end]);
            bank.offsets.push(bank.weights.len());
        }
        for g in (0..n).step_by(GROUP) {
            let members = g..(g + GROUP).min(n);
            let lo = members.clone().map(|m| bank.starts[m]).min().unwrap_or(0);
            let hi = members.clone().map(|m| bank.starts[m] + bank.filter(m).len()).max().unwrap_or(lo).max(lo);
            let offset = bank.transposed.len();
            bank.transposed.resize(offset + (hi - lo) * GROUP, 0.0);
            for m in members {
                let weights = &bank.weights[bank.offsets[m]..bank.offsets[m + 1]];
                for (i, &w) in weights.iter().enumerate() {
                    bank.transposed[offset + (bank.starts[m] + i - lo) * GROUP + (m - g)] = w;
                }
            }
            bank.groups.push((lo, hi - lo, offset));
        }
        Ok(bank)
    }

    pub(super) fn filter(&self, m: usize) -> &[f32] {
        &self.weights[self.offsets[m]..self.offsets[m + 1]]
    }

    /// Number of filters (values per output frame).
    pub fn num_filters(&self) -> usize {
        self.starts.len()
    }

    /// Power-spectrum values one application reads (`fft_len / 2 + 1`).
    pub fn num_power_bins(&self) -> usize {
        self.bins
    }

    /// `out[m] = ln(max(sum_i w_m[i] * power[i], f32::EPSILON))` on the
    /// active path; NaN energies stay NaN.
    pub fn apply_log(&self, power: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
        self.apply_log_with(active_table(), power, out)
    }

    /// [`MelFilterbank::apply_log`] on a given path.
    pub fn apply_log_on(&self, path: KernelPath, power: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
        self.apply_log_with(table_or_err(path)?, power, out)
    }

    fn apply_log_with(&self, table: Table, power: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
        if power.len() != self.bins {
            return Err(KernelError::Length { what: "power spectrum", len: power.len(), expected: self.bins });
        }
        if out.len() != self.num_filters() {
            return Err(KernelError::Length {
                what: "filterbank output",
                len: out.len(),
                expected: self.num_filters(),
            });
        }
        (table.mel_log)(power, self, out);
        Ok(())
    }
}

/// `out[i] = re_i^2 + im_i^2` of an interleaved complex spectrum
/// (`[re0, im0, re1, im1, ...]`), on the active path; identical on every path.
pub fn power_spectrum(spectrum: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
    power_spectrum_with(active_table(), spectrum, out)
}

/// [`power_spectrum`] on a given path.
pub fn power_spectrum_on(path: KernelPath, spectrum: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
    power_spectrum_with(table_or_err(path)?, spectrum, out)
}

fn power_spectrum_with(table: Table, spectrum: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
    if spectrum.len() != 2 * out.len() {
        return Err(KernelError::Length { what: "interleaved spectrum", len: spectrum.len(), expected: 2 * out.len() });
    }
    (table.power_spectrum)(spectrum, out);
    Ok(())
}

/// Checks `config` and returns the FFT length.
fn validate(config: &LogMelConfig) -> Result<usize, LogMelError> {
    if config.sample_rate == 0 {
        return Err(LogMelError::SampleRate);
    }
    if !(2..=MAX_FRAME).contains(&config.frame_length) {
        return Err(LogMelError::FrameLength(config.frame_length));
    }
    if config.frame_shift == 0 {
        return Err(LogMelError::FrameShift);
    }
    if !(4..=MAX_MEL_BINS).contains(&config.num_mel_bins) {
        return Err(LogMelError::MelBins(config.num_mel_bins));
    }
    if !(0.0..=1.0).contains(&config.preemphasis) {
        return Err(LogMelError::Preemphasis(config.preemphasis));
    }
    let nyquist = config.sample_rate as f32 / 2.0;
    let high = if config.high_freq <= 0.0 { config.high_freq + nyquist } else { config.high_freq };
    let low = config.low_freq;
    let ordered = (0.0..nyquist).contains(&low) && high > 0.0 && high <= nyquist && low < high;
    if !ordered {
        return Err(LogMelError::Band { low, high, nyquist });
    }
    Ok(config.frame_length.next_power_of_two())
}

/// Streaming log-mel features: feed samples in any chunk sizes, get one row
/// of `num_mel_bins` values per complete frame, the same as for the whole
/// signal at once. All buffers are sized at construction (the pending-sample
/// buffer grows once to the largest chunk fed), so frames allocate nothing.
pub struct LogMel {
    config: LogMelConfig,
    table: Table,
    bank: MelFilterbank,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Samples not yet consumed by a frame; frame starts at index 0.
    pending: Vec<f32>,
    /// Samples still to drop before the next frame starts (shift > length).
    skip: usize,
    frame: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
    power: Vec<f32>,
}

impl std::fmt::Debug for LogMel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMel").field("config", &self.config).field("path", &self.table.path).finish_non_exhaustive()
    }
}

impl LogMel {
    /// A filterbank on the active kernel path.
    pub fn new(config: LogMelConfig) -> Result<Self, LogMelError> {
        Self::with_table(active_table(), config)
    }

    /// A filterbank on a given path (for tests, benchmarks and A/B runs).
    pub fn new_on(path: KernelPath, config: LogMelConfig) -> Result<Self, LogMelError> {
        Self::with_table(table_or_err(path)?, config)
    }

    fn with_table(table: Table, config: LogMelConfig) -> Result<Self, LogMelError> {
        let bank = MelFilterbank::new(&config)?;
        let fft_len = config.frame_length.next_power_of_two();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(fft_len);
        let n = config.frame_length;
        // torch.hann_window(n, periodic=False), evaluated in f64.
        let window = (0..n)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos()) as f32)
            .collect();
        Ok(LogMel {
            table,
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; bank.num_power_bins()],
            pending: Vec::with_capacity(4 * n),
            skip: 0,
            window,
            bank,
            fft,
            config,
        })
    }

    /// The settings this filterbank was built with.
    pub fn config(&self) -> &LogMelConfig {
        &self.config
    }

    /// The kernel path in use.
    pub fn path(&self) -> KernelPath {
        self.table.path
    }

    /// Values per output frame.
    pub fn num_mel_bins(&self) -> usize {
        self.config.num_mel_bins
    }

    /// Forgets buffered samples, to start a new utterance.
    pub fn reset(&mut self) {
        self.pending.clear();
        self.skip = 0;
    }

    /// Appends the features of every frame completed by `samples` to `out`
    /// (`num_mel_bins` values per frame, frames in time order) and returns
    /// how many frames that was. Samples are floats at any scale (Kaldi uses
    /// the int16 range; the fixture uses [-1, 1]); NaN samples give NaN
    /// features for the frames that contain them.
    pub fn compute(&mut self, samples: &[f32], out: &mut Vec<f32>) -> usize {
        let dropped = self.skip.min(samples.len());
        self.skip -= dropped;
        self.pending.extend_from_slice(&samples[dropped..]);
        let (len, shift) = (self.config.frame_length, self.config.frame_shift);
        let frames = if self.pending.len() >= len { (self.pending.len() - len) / shift + 1 } else { 0 };
        let bins = self.config.num_mel_bins;
        out.reserve(frames * bins);
        for f in 0..frames {
            let base = out.len();
            out.resize(base + bins, 0.0);
            self.frame(f * shift, &mut out[base..]);
        }
        let consumed = (frames * shift).min(self.pending.len());
        // Any earlier skip is used up whenever a frame was made.
        self.skip += frames * shift - consumed;
        self.pending.drain(..consumed);
        frames
    }

    /// One frame starting at `pending[start]` into `out` (`num_mel_bins` values).
    fn frame(&mut self, start: usize, out: &mut [f32]) {
        let len = self.config.frame_length;
        let frame = &mut self.frame;
        frame[..len].copy_from_slice(&self.pending[start..start + len]);
        frame[len..].fill(0.0);
        if self.config.remove_dc_offset {
            let mean = (frame[..len].iter().map(|&x| f64::from(x)).sum::<f64>() / len as f64) as f32;
            frame[..len].iter_mut().for_each(|x| *x -= mean);
        }
        let p = self.config.preemphasis;
        if p != 0.0 {
            for j in (1..len).rev() {
                frame[j] -= p * frame[j - 1];
            }
            frame[0] -= p * frame[0];
        }
        for (x, &w) in frame.iter_mut().zip(&self.window) {
            *x *= w;
        }
        if self.fft.process_with_scratch(frame, &mut self.spectrum, &mut self.scratch).is_err() {
            // Only on buffer-length mismatches, which construction rules out.
            out.fill(f32::NAN);
            return;
        }
        // SAFETY: `Complex<f32>` is `#[repr(C)] { re: f32, im: f32 }`, so `n`
        // complex values are `2n` consecutive, aligned f32s; the borrow of
        // `self.spectrum` outlives the slice.
        let interleaved =
            unsafe { std::slice::from_raw_parts(self.spectrum.as_ptr().cast::<f32>(), 2 * self.spectrum.len()) };
        (self.table.power_spectrum)(interleaved, &mut self.power);
        (self.table.mel_log)(&self.power, &self.bank, out);
    }
}

/// Reference power spectrum.
pub(super) fn power_spectrum_ref(spectrum: &[f32], out: &mut [f32]) {
    for (c, o) in spectrum.chunks_exact(2).zip(out) {
        *o = c[0] * c[0] + c[1] * c[1];
    }
}

/// `ln(max(x, EPSILON))`, NaN kept: the log every path applies.
pub(super) fn floor_ln(x: f32) -> f32 {
    if x.is_nan() {
        x
    } else {
        x.max(f32::EPSILON).ln()
    }
}

/// Reference filterbank + log: each filter's bins summed in order.
pub(super) fn mel_log_ref(power: &[f32], bank: &MelFilterbank, out: &mut [f32]) {
    for (m, o) in out.iter_mut().enumerate() {
        let start = bank.starts[m];
        let filter = bank.filter(m);
        let sum = filter.iter().zip(&power[start..start + filter.len()]).fold(0.0f32, |s, (&w, &p)| s + w * p);
        *o = floor_ln(sum);
    }
}
