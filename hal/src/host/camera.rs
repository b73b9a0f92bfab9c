//! A camera that runs a capture program for every frame.
//!
//! Every Linux camera stack has a command-line tool that can write one
//! frame to stdout, so one small device covers them all: a USB webcam
//! through `ffmpeg` ([`CommandCamera::ffmpeg_v4l2`]), the Pi camera through
//! `rpicam-still -e ppm -o -`, a Jetson CSI camera through `gst-launch-1.0
//! ... ! pnmenc ! fdsink`. The command is an argv vector run without a
//! shell; it must write exactly one binary PPM (see [`super::ppm`]) to
//! stdout and exit 0. A command that hangs (a camera that never delivers a
//! frame) is killed at the timeout, so a `take_photo` step cannot stall
//! the executor. Starting a process per frame costs tens of milliseconds,
//! which is fine for photos and a detector run a few times a second.

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::ppm::{self, PpmError};
use super::process::{spawn_error_kind, spawn_hint};
use crate::capability::Camera;
use crate::{ErrorKind, ErrorType, Frame};

/// Default cap on the capture's output: a 12-megapixel RGB frame fits.
const DEFAULT_MAX_BYTES: usize = 64 << 20;
/// How much of the program's stderr is kept for the error message.
const STDERR_TAIL: usize = 2048;
const POLL: Duration = Duration::from_millis(2);
/// How long to wait for the stderr reader once the program has exited.
const STDERR_GRACE: Duration = Duration::from_millis(200);

/// Why a capture failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CameraError {
    /// The capture command has no program.
    #[error("capture command is empty")]
    EmptyCommand,
    /// The capture program could not be started.
    #[error("cannot run capture program `{program}`: {source}{hint}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    /// The program did not finish within the timeout and was killed.
    #[error("capture program `{program}` did not finish within {timeout:?}; killed")]
    Timeout { program: String, timeout: Duration },
    /// The program exited with an error.
    #[error("capture program `{program}` failed ({status}): {stderr}")]
    Failed { program: String, status: ExitStatus, stderr: String },
    /// The program wrote more than the output limit.
    #[error("capture program `{program}` wrote more than {limit} bytes")]
    TooMuchOutput { program: String, limit: usize },
    /// Reading the program's output or waiting for it failed.
    #[error("capture I/O error: {0}")]
    Io(#[source] io::Error),
    /// The output is not a usable PPM image.
    #[error("capture output is not a usable image: {0}")]
    Image(#[from] PpmError),
}

impl crate::Error for CameraError {
    fn kind(&self) -> ErrorKind {
        match self {
            CameraError::EmptyCommand => ErrorKind::Other,
            CameraError::Spawn { source, .. } => spawn_error_kind(source),
            CameraError::Timeout { .. } => ErrorKind::Timeout,
            CameraError::Failed { .. }
            | CameraError::TooMuchOutput { .. }
            | CameraError::Io(_)
            | CameraError::Image(_) => ErrorKind::Fault,
        }
    }
}

/// A camera that runs `argv` for each frame and decodes the PPM it writes.
#[derive(Debug, Clone)]
pub struct CommandCamera {
    argv: Vec<String>,
    timeout: Duration,
    max_bytes: usize,
}

impl CommandCamera {
    /// `argv[0]` is the program (looked up on `PATH`), the rest its
    /// arguments. Fails only when `argv` is empty.
    pub fn new(argv: Vec<String>, timeout: Duration) -> Result<Self, CameraError> {
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(CameraError::EmptyCommand);
        }
        Ok(Self { argv, timeout, max_bytes: DEFAULT_MAX_BYTES })
    }

    /// One frame from a V4L2 device (a USB webcam) through `ffmpeg`.
    pub fn ffmpeg_v4l2(device: &str, timeout: Duration) -> Self {
        let argv = [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "v4l2",
            "-i",
            device,
            "-frames:v",
            "1",
            "-f",
            "image2pipe",
            "-vcodec",
            "ppm",
            "-pix_fmt",
            "rgb24",
            "-",
        ];
        Self { argv: argv.iter().map(|s| s.to_string()).collect(), timeout, max_bytes: DEFAULT_MAX_BYTES }
    }

    /// Refuse (and kill) a capture that writes more than `max_bytes`.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn program(&self) -> String {
        self.argv.first().cloned().unwrap_or_default()
    }

    /// Run the command and return what it wrote to stdout.
    fn run(&self) -> Result<Vec<u8>, CameraError> {
        let (program, args) = self.argv.split_first().ok_or(CameraError::EmptyCommand)?;
        let deadline = Instant::now() + self.timeout;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| CameraError::Spawn { program: program.clone(), hint: spawn_hint(&source), source })?;

        // Both pipes are drained on their own threads, so a chatty program
        // cannot block on a full stderr pipe while we wait for stdout.
        let limit = self.max_bytes;
        let out_rx = child.stdout.take().map(|pipe| read_on_thread(move || read_limited(pipe, limit)));
        let err_rx = child.stderr.take().map(|pipe| read_on_thread(move || read_tail(pipe)));
        let stdout = match out_rx {
            Some(rx) => match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) => return Err(self.timed_out(child)),
                Err(RecvTimeoutError::Disconnected) => Err(io::Error::other("stdout reader stopped")),
            },
            None => Err(io::Error::other("stdout was not captured")),
        };
        let stdout = match stdout {
            Ok(bytes) if bytes.len() > self.max_bytes => {
                kill_and_reap(&mut child);
                return Err(CameraError::TooMuchOutput { program: program.clone(), limit: self.max_bytes });
            }
            Ok(bytes) => bytes,
            Err(e) => {
                kill_and_reap(&mut child);
                return Err(CameraError::Io(e));
            }
        };

        // Stdout is closed; the program should be exiting.
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => return Err(self.timed_out(child)),
                Ok(None) => std::thread::sleep(POLL),
                Err(e) => {
                    kill_and_reap(&mut child);
                    return Err(CameraError::Io(e));
                }
            }
        };
        if !status.success() {
            let stderr = err_rx
                .and_then(|rx| rx.recv_timeout(STDERR_GRACE).ok())
                .and_then(Result::ok)
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .unwrap_or_default();
            return Err(CameraError::Failed { program: program.clone(), status, stderr });
        }
        Ok(stdout)
    }

    fn timed_out(&self, mut child: Child) -> CameraError {
        kill_and_reap(&mut child);
        CameraError::Timeout { program: self.program(), timeout: self.timeout }
    }
}

fn kill_and_reap(child: &mut Child) {
    // Killing a program that has just exited is harmless; `wait` reaps it.
    let _ = child.kill();
    let _ = child.wait();
}

/// Run `read` on a new thread; the receiver gets its result.
fn read_on_thread<F>(read: F) -> mpsc::Receiver<io::Result<Vec<u8>>>
where
    F: FnOnce() -> io::Result<Vec<u8>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The receiver is gone when the capture already gave up.
        let _ = tx.send(read());
    });
    rx
}

/// Read to the end, but at most `limit + 1` bytes, so an overlong output is
/// detectable without storing all of it.
fn read_limited(pipe: impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    pipe.take(limit.saturating_add(1) as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Read to the end, keeping only the last [`STDERR_TAIL`] bytes: the
/// program must never block on a full pipe, and the end of its complaint
/// is the useful part.
fn read_tail(mut pipe: impl Read) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match pipe.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if out.len() > STDERR_TAIL {
            out.drain(..out.len() - STDERR_TAIL);
        }
    }
}

impl ErrorType for CommandCamera {
    type Error = CameraError;
}

impl Camera for CommandCamera {
    fn capture(&mut self) -> Result<Frame, CameraError> {
        let bytes = self.run()?;
        Ok(ppm::decode(&bytes)?)
    }
}
