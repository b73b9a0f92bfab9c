//! WAV files in, 16 kHz mono `f32` out, streamed in blocks so memory stays
//! bounded whatever the file's length.
//!
//! `hound` parses the header and samples: integer PCM of 8, 16, 24 or 32 bits
//! and 32-bit float, any channel count, at [`MIN_RATE`]..=[`MAX_RATE`] Hz.
//! Every frame is averaged to mono, scaled to `[-1, 1]` (non-finite float
//! samples become silence) and resampled with [`Resampler16k`]. What cannot
//! be read is a typed [`VoiceError`], never a panic: not a WAV, an
//! unsupported encoding (64-bit float, ADPCM, ...), no audio, a file cut
//! short (the data chunk promises more samples than the file holds), or a
//! file longer than [`WavLimits::max_seconds`] (from the header, before any
//! decoding; hound never reads past the length the header declares).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavReader};

use super::resample::{Resampler16k, MAX_RATE, MIN_RATE};
use super::VoiceError;

/// Input frames decoded per block.
const BLOCK_FRAMES: usize = 4096;

/// What a WAV file is allowed to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WavLimits {
    /// Longest file accepted, in seconds. A command is a few seconds; five
    /// minutes leaves room for a recorded session while bounding the time a
    /// stray file can take (and the audio a caller keeps: at most this many
    /// seconds of 16 kHz `f32`, 19 MB for 300 s).
    pub max_seconds: u32,
}

impl Default for WavLimits {
    fn default() -> Self {
        WavLimits { max_seconds: 300 }
    }
}

/// The header of an opened file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub bits_per_sample: u16,
    pub float: bool,
    /// Frames the header declares.
    pub frames: u64,
}

impl WavInfo {
    /// Declared duration.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }
}

/// An open WAV file yielding 16 kHz mono blocks.
pub struct WavStream {
    path: PathBuf,
    reader: WavReader<BufReader<File>>,
    info: WavInfo,
    resampler: Resampler16k,
    /// Divides integer samples into `[-1, 1]`.
    int_scale: f32,
    frames_read: u64,
    finished: bool,
    mono: Vec<f32>,
}

impl std::fmt::Debug for WavStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavStream").field("path", &self.path).field("info", &self.info).finish_non_exhaustive()
    }
}

fn open_err(path: &Path, e: hound::Error) -> VoiceError {
    let path = path.to_path_buf();
    match e {
        // Opening and permissions are the file system's; any other read
        // failure here means the file ended inside the header.
        hound::Error::IoError(io)
            if matches!(io.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied) =>
        {
            VoiceError::Io { path, message: io.to_string() }
        }
        hound::Error::IoError(io) => VoiceError::NotWav { path, reason: format!("file ends inside the header ({io})") },
        hound::Error::FormatError(reason) => VoiceError::NotWav { path, reason: reason.into() },
        hound::Error::Unsupported | hound::Error::TooWide | hound::Error::InvalidSampleFormat => {
            VoiceError::UnsupportedEncoding { path, reason: "only integer PCM and 32-bit float WAV are read".into() }
        }
        other => VoiceError::NotWav { path, reason: other.to_string() },
    }
}

impl WavStream {
    /// Opens `path` and checks its header against `limits`.
    pub fn open(path: &Path, limits: WavLimits) -> Result<WavStream, VoiceError> {
        let reader = WavReader::open(path).map_err(|e| open_err(path, e))?;
        let spec = reader.spec();
        let info = WavInfo {
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            bits_per_sample: spec.bits_per_sample,
            float: spec.sample_format == SampleFormat::Float,
            frames: u64::from(reader.duration()),
        };
        let unsupported = |reason: String| VoiceError::UnsupportedEncoding { path: path.to_path_buf(), reason };
        if info.channels == 0 {
            return Err(unsupported("zero channels".into()));
        }
        if !(MIN_RATE..=MAX_RATE).contains(&info.sample_rate) {
            return Err(unsupported(format!("sample rate {} Hz (need {MIN_RATE}..={MAX_RATE})", info.sample_rate)));
        }
        let int_scale = match (info.float, info.bits_per_sample) {
            (true, 32) => 1.0,
            (false, bits @ (8 | 16 | 24 | 32)) => (1u64 << (bits - 1)) as f32,
            (float, bits) => {
                return Err(unsupported(format!("{bits}-bit {}", if float { "float" } else { "integer" })));
            }
        };
        if info.frames == 0 {
            return Err(VoiceError::NoAudio { path: path.to_path_buf() });
        }
        if info.frames > u64::from(limits.max_seconds) * u64::from(info.sample_rate) {
            return Err(VoiceError::TooLong {
                path: path.to_path_buf(),
                seconds: info.seconds(),
                max_seconds: limits.max_seconds,
            });
        }
        Ok(WavStream {
            path: path.to_path_buf(),
            reader,
            info,
            resampler: Resampler16k::new(info.sample_rate)?,
            int_scale,
            frames_read: 0,
            finished: false,
            mono: Vec::with_capacity(BLOCK_FRAMES),
        })
    }

    /// The file's header.
    pub fn info(&self) -> &WavInfo {
        &self.info
    }

    /// Appends the next block of 16 kHz mono samples to `out`; `Ok(false)`
    /// once the file is exhausted (the last call flushes the resampler).
    pub fn next_block(&mut self, out: &mut Vec<f32>) -> Result<bool, VoiceError> {
        if self.finished {
            return Ok(false);
        }
        self.mono.clear();
        let channels = usize::from(self.info.channels);
        let want = BLOCK_FRAMES * channels;
        let (mut sum, mut in_frame, mut taken) = (0.0f32, 0usize, 0usize);
        // Samples interleave channels: average each full frame.
        let mut take = |s: f32, mono: &mut Vec<f32>| {
            sum += if s.is_finite() { s } else { 0.0 };
            in_frame += 1;
            if in_frame == channels {
                mono.push(sum / channels as f32);
                sum = 0.0;
                in_frame = 0;
            }
        };
        let result: Result<(), hound::Error> = if self.info.float {
            self.reader.samples::<f32>().take(want).try_for_each(|s| {
                taken += 1;
                s.map(|v| take(v, &mut self.mono))
            })
        } else {
            let scale = self.int_scale;
            self.reader.samples::<i32>().take(want).try_for_each(|s| {
                taken += 1;
                s.map(|v| take(v as f32 / scale, &mut self.mono))
            })
        };
        if let Err(e) = result {
            return Err(match e {
                // hound reports a short read as `Other` ("Failed to read
                // enough bytes"), std as `UnexpectedEof`: both are a cut file.
                hound::Error::IoError(io)
                    if !matches!(io.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::Other) =>
                {
                    VoiceError::Io { path: self.path.clone(), message: io.to_string() }
                }
                _ => VoiceError::Truncated {
                    path: self.path.clone(),
                    frames_read: self.frames_read + self.mono.len() as u64,
                    frames_declared: self.info.frames,
                },
            });
        }
        self.frames_read += self.mono.len() as u64;
        self.resampler.push(&self.mono, out)?;
        if taken < want {
            self.finished = true;
            self.resampler.finish(out)?;
        }
        Ok(true)
    }
}

/// Reads a whole file as 16 kHz mono (for short files: a command, a test).
pub fn read_wav_16k(path: &Path, limits: WavLimits) -> Result<(WavInfo, Vec<f32>), VoiceError> {
    let mut stream = WavStream::open(path, limits)?;
    let mut out = Vec::with_capacity((stream.info().seconds() * 16_000.0) as usize + 1);
    while stream.next_block(&mut out)? {}
    Ok((*stream.info(), out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hound::{SampleFormat, WavSpec, WavWriter};

    /// A 440 Hz tone at amplitude 0.5, `channels` copies, with the given encoding, written to `path`.
    fn write_tone(path: PathBuf, rate: u32, channels: u16, bits: u16, float: bool, seconds: f32) -> PathBuf {
        let spec = WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float { SampleFormat::Float } else { SampleFormat::Int },
        };
        let mut w = WavWriter::create(&path, spec).unwrap();
        let n = (rate as f32 * seconds) as usize;
        for i in 0..n {
            let v = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin() * 0.5;
            for _ in 0..channels {
                if float {
                    w.write_sample(v).unwrap();
                } else {
                    let q = (v * ((1i64 << (bits - 1)) - 1) as f32).round() as i32;
                    match bits {
                        8 => w.write_sample(q as i8).unwrap(),
                        16 => w.write_sample(q as i16).unwrap(),
                        _ => w.write_sample(q).unwrap(),
                    }
                }
            }
        }
        w.finalize().unwrap();
        path
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    #[test]
    fn every_common_encoding_reads_as_the_same_16k_tone() {
        let cases = [
            (16_000, 1, 16, false),
            (48_000, 2, 16, false),
            (44_100, 1, 24, false),
            (22_050, 6, 32, false),
            (8_000, 1, 8, false),
            (32_000, 2, 32, true),
            (11_025, 1, 16, false),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (k, &(rate, ch, bits, float)) in cases.iter().enumerate() {
            let path = write_tone(dir.path().join(format!("tone{k}.wav")), rate, ch, bits, float, 1.0);
            let (info, pcm) = read_wav_16k(&path, WavLimits::default()).unwrap();
            assert_eq!((info.sample_rate, info.channels, info.bits_per_sample, info.float), (rate, ch, bits, float));
            assert_eq!(pcm.len(), 16_000, "{info:?}");
            let level = rms(&pcm[1000..15_000]);
            assert!((level - 0.5 / 2f32.sqrt()).abs() < 0.02, "{info:?}: rms {level}");
        }
    }

    #[test]
    fn stereo_is_averaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lr.wav");
        let spec = WavSpec { channels: 2, sample_rate: 16_000, bits_per_sample: 16, sample_format: SampleFormat::Int };
        let mut w = WavWriter::create(&path, spec).unwrap();
        for _ in 0..1000 {
            w.write_sample(16_384i16).unwrap(); // left +0.5
            w.write_sample(-8_192i16).unwrap(); // right -0.25
        }
        w.finalize().unwrap();
        let (_, pcm) = read_wav_16k(&path, WavLimits::default()).unwrap();
        assert_eq!(pcm.len(), 1000);
        assert!(pcm.iter().all(|&s| (s - 0.125).abs() < 1e-6));
    }

    #[test]
    fn bad_files_are_typed_errors() {
        let lim = WavLimits::default();
        let dir = tempfile::tempdir().unwrap();
        let tmp = |name: &str| dir.path().join(name);
        let not_wav = tmp("not.wav");
        std::fs::write(&not_wav, b"this is not a riff file, just text").unwrap();
        assert!(matches!(read_wav_16k(&not_wav, lim), Err(VoiceError::NotWav { .. })));

        let empty_file = tmp("zero-bytes.wav");
        std::fs::write(&empty_file, b"").unwrap();
        assert!(matches!(read_wav_16k(&empty_file, lim), Err(VoiceError::NotWav { .. })));

        let no_frames = write_tone(tmp("no-frames.wav"), 16_000, 1, 16, false, 0.0);
        assert!(matches!(read_wav_16k(&no_frames, lim), Err(VoiceError::NoAudio { .. })));

        let missing = tmp("does-not-exist.wav");
        assert!(matches!(read_wav_16k(&missing, lim), Err(VoiceError::Io { .. })));

        let whole = write_tone(tmp("whole.wav"), 16_000, 1, 16, false, 1.0);
        let bytes = std::fs::read(&whole).unwrap();
        for cut in [20, 44 + 2 * 8000 + 1, bytes.len() - 2] {
            let p = tmp(&format!("cut{cut}.wav"));
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let err = read_wav_16k(&p, lim).unwrap_err();
            assert!(matches!(err, VoiceError::Truncated { .. } | VoiceError::NotWav { .. }), "cut at {cut}: {err}");
            if cut > 44 {
                assert!(matches!(err, VoiceError::Truncated { frames_declared: 16_000, .. }), "cut at {cut}: {err}");
            }
        }

        let slow = write_tone(tmp("4k.wav"), 4_000, 1, 16, false, 0.1);
        assert!(matches!(read_wav_16k(&slow, lim), Err(VoiceError::UnsupportedEncoding { .. })));
    }

    #[test]
    fn ten_minute_file_is_refused_from_its_header_and_streams_under_a_higher_limit() {
        // 10 minutes of 16 kHz 8-bit (9.6 MB; no resampling, so quick).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ten-minutes.wav");
        let spec = WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 8, sample_format: SampleFormat::Int };
        let mut w = WavWriter::create(&path, spec).unwrap();
        for i in 0..16_000 * 600 {
            w.write_sample(((i % 50) as i8) - 25).unwrap();
        }
        w.finalize().unwrap();
        let t = std::time::Instant::now();
        let err = WavStream::open(&path, WavLimits::default()).unwrap_err();
        assert!(matches!(err, VoiceError::TooLong { max_seconds: 300, .. }), "{err}");
        assert!(t.elapsed().as_millis() < 500, "refused without decoding");
        // Streaming keeps one block in memory, whatever the length.
        let mut s = WavStream::open(&path, WavLimits { max_seconds: 600 }).unwrap();
        let (mut total, mut block, mut largest) = (0usize, Vec::new(), 0usize);
        while s.next_block(&mut block).unwrap() {
            total += block.len();
            largest = largest.max(block.len());
            block.clear();
        }
        assert_eq!(total, 16_000 * 600);
        assert!(largest <= 3 * BLOCK_FRAMES, "block of {largest} samples");
    }
}
