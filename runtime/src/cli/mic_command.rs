//! Microphone audio from a capture program (`robot listen --mic-command`, and
//! the default on builds without the `cpal` microphone): the program writes
//! raw signed 16-bit little-endian PCM to its standard output, e.g.
//! `arecord -q -t raw -f S16_LE -r 16000 -c 1`, which every Raspberry Pi OS
//! and Jetson Linux image has. This needs no audio library at build time, so
//! the cross-built board package can listen too.
//!
//! A reader thread converts the bytes to `f32` and pushes them into the same
//! ring the `cpal` callback feeds. It is not a real-time callback, so when
//! the ring is full it waits instead of dropping: a program that writes
//! faster than real time (a file through `cat`) is simply held back by the
//! pipe. When the program ends the ring closes, and `robot listen` finishes
//! the utterance in progress and stops.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context};
use robot_models::voice::{mic_ring, MicConsumer, MicProducer};

/// The capture command when none is given: ALSA's `arecord`, 16 kHz mono.
pub const DEFAULT_COMMAND: &str = "arecord -q -t raw -f S16_LE -r 16000 -c 1";

/// How long the reader waits for room in a full ring before looking again.
const FULL_WAIT: Duration = Duration::from_millis(5);

/// A parsed capture command, not yet started.
#[derive(Debug)]
pub struct CommandMic {
    argv: Vec<String>,
    channels: u16,
    producer: MicProducer,
}

/// The running program; dropping it stops the program and the reader.
pub struct CommandStream {
    command: String,
    child: Child,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

/// How long [`CommandStream::finish`] waits for a program whose output
/// ended to exit before it is killed.
const EXIT_WAIT: Duration = Duration::from_secs(1);

/// Parses `command` (shell-style quoting, no shell) for a program writing
/// `rate` Hz, `channels`-channel S16_LE; returns it with the ring's consumer.
pub fn open(command: &str, rate: u32, channels: u16) -> anyhow::Result<(CommandMic, MicConsumer, u32)> {
    let argv = shlex::split(command).with_context(|| format!("cannot parse the capture command `{command}`"))?;
    if argv.is_empty() {
        bail!("the capture command is empty");
    }
    if rate == 0 || channels == 0 {
        bail!("the capture command needs a sample rate and channel count above 0 (got {rate} Hz, {channels})");
    }
    // Two seconds of slack, as for the cpal microphone.
    let capacity = usize::try_from(rate).unwrap_or(48_000).saturating_mul(2);
    let (producer, consumer) = mic_ring(capacity, channels)?;
    Ok((CommandMic { argv, channels, producer }, consumer, rate))
}

impl CommandMic {
    /// Starts the program and the thread that reads it.
    pub fn start(self) -> anyhow::Result<CommandStream> {
        let CommandMic { argv, channels, producer } = self;
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start the capture command `{}` (is it installed?)", argv.join(" ")))?;
        let stdout = child.stdout.take().context("the capture command has no standard output")?;
        let stop = Arc::new(AtomicBool::new(false));
        let reader_stop = stop.clone();
        let reader = std::thread::Builder::new()
            .name("mic-command".into())
            .spawn(move || pump(stdout, producer, usize::from(channels), &reader_stop))
            .context("cannot start the capture reader")?;
        Ok(CommandStream { command: argv.join(" "), child, stop, reader: Some(reader) })
    }
}

impl CommandStream {
    /// Ends the capture once the listening loop is done. A program that
    /// exited on its own with a failure (arecord with no such device, or a
    /// program that could not be run at all where the failure only shows as
    /// exit status 127) is an error; one stopped here (`interrupted`, or
    /// still running) is not.
    pub fn finish(mut self, interrupted: bool) -> anyhow::Result<()> {
        let mut status = None;
        if !interrupted {
            let until = std::time::Instant::now() + EXIT_WAIT;
            while status.is_none() && std::time::Instant::now() < until {
                status = self.child.try_wait().context("cannot check the capture command")?;
                if status.is_none() {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        match status {
            Some(s) if !s.success() => bail!("the capture command `{}` failed ({s})", self.command),
            _ => Ok(()),
        }
    }
}

impl Drop for CommandStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Killing the program closes the pipe, which ends a blocked read.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// Reads PCM until the program ends (or `stop`); the producer is dropped on
/// return, which tells the listening loop that the input has ended.
fn pump(mut from: impl Read, mut producer: MicProducer, channels: usize, stop: &AtomicBool) {
    let mut bytes = vec![0u8; 8192];
    // A sample or frame split across reads waits here for its other bytes.
    let mut carry: Vec<u8> = Vec::new();
    let mut samples: Vec<f32> = Vec::with_capacity(bytes.len() / 2);
    let frame_bytes = 2 * channels;
    while !stop.load(Ordering::Relaxed) {
        let n = match from.read(&mut bytes) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("microphone error: cannot read the capture command: {e}");
                break;
            }
        };
        carry.extend_from_slice(&bytes[..n]);
        let whole = carry.len() - carry.len() % frame_bytes;
        samples.clear();
        samples.extend(carry[..whole].chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0));
        carry.drain(..whole);
        let mut rest = &samples[..];
        while !rest.is_empty() && !stop.load(Ordering::Relaxed) {
            let room = producer.free() * channels;
            if room == 0 {
                std::thread::sleep(FULL_WAIT);
                continue;
            }
            let take = room.min(rest.len());
            producer.push_interleaved(&rest[..take]);
            rest = &rest[take..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_commands_are_refused_before_anything_starts() {
        assert!(open("", 16_000, 1).unwrap_err().to_string().contains("empty"));
        assert!(open("arecord 'unclosed", 16_000, 1).unwrap_err().to_string().contains("cannot parse"));
        assert!(open("arecord", 0, 1).is_err());
        let (mic, _, _) = open("/nonexistent/capture-program -x", 16_000, 1).unwrap();
        // Natively the spawn fails; under qemu-user it succeeds and the
        // child exits 127, which `finish` reports.
        let err = match mic.start() {
            Err(e) => e,
            Ok(stream) => stream.finish(false).unwrap_err(),
        };
        let err = format!("{err:#}");
        assert!(err.contains("cannot start the capture command") || err.contains("127"), "{err}");
    }

    #[test]
    fn a_failed_program_is_an_error_and_a_clean_end_is_not() {
        let (mic, _, _) = open("sh -c 'echo no such device >&2; exit 3'", 16_000, 1).unwrap();
        let err = format!("{:#}", mic.start().unwrap().finish(false).unwrap_err());
        assert!(err.contains("capture command") && err.contains('3'), "{err}");
        let (mic, _, _) = open("true", 16_000, 1).unwrap();
        mic.start().unwrap().finish(false).unwrap();
        // Stopped by the operator: whatever the program says, not an error.
        let (mic, _, _) = open("sleep 5", 16_000, 1).unwrap();
        mic.start().unwrap().finish(true).unwrap();
    }

    #[test]
    fn pcm_split_across_reads_arrives_whole_and_downmixed() {
        // Stereo frames (1000, 3000), (-2000, 0), (32767, 32767), fed one
        // byte per read so every sample and frame is split.
        let pcm: Vec<u8> = [1000i16, 3000, -2000, 0, 32767, 32767].iter().flat_map(|s| s.to_le_bytes()).collect();
        struct ByteAtATime(Vec<u8>, usize);
        impl Read for ByteAtATime {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.1 == self.0.len() {
                    return Ok(0);
                }
                buf[0] = self.0[self.1];
                self.1 += 1;
                Ok(1)
            }
        }
        let (producer, mut consumer) = mic_ring(16, 2).unwrap();
        pump(ByteAtATime(pcm, 0), producer, 2, &AtomicBool::new(false));
        let mut out = Vec::new();
        consumer.drain_into(&mut out);
        let want = [2000.0 / 32768.0, -1000.0 / 32768.0, 32767.0 / 32768.0];
        assert_eq!(out.len(), 3, "{out:?}");
        for (o, w) in out.iter().zip(want) {
            assert!((o - w).abs() < 1e-6, "{out:?}");
        }
        assert!(consumer.is_closed());
        assert_eq!(consumer.dropped(), 0);
    }

    #[test]
    fn a_fast_program_is_held_back_not_dropped() {
        // 10,000 samples through a 1,000-sample ring, drained concurrently.
        let pcm: Vec<u8> = (0..10_000i32).flat_map(|i| ((i % 1000) as i16).to_le_bytes()).collect();
        let (producer, mut consumer) = mic_ring(1000, 1).unwrap();
        let feeder = std::thread::spawn(move || pump(&pcm[..], producer, 1, &AtomicBool::new(false)));
        let mut out = Vec::new();
        while !(consumer.is_closed() && consumer.available() == 0) {
            if consumer.drain_into(&mut out) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        feeder.join().unwrap();
        assert_eq!(out.len(), 10_000);
        assert_eq!(consumer.dropped(), 0);
    }
}
