//! Devices that work on any Linux host (a desktop, a Raspberry Pi, a
//! Jetson) with nothing but the standard library and ordinary programs.
//!
//! They give the capabilities that the serial co-processor does not carry a
//! second, real implementation, and are what a board without special
//! hardware uses:
//!
//! - [`ConsoleSpeaker`] writes `say: <text>` lines to any [`std::io::Write`]
//!   (stdout, a log file): a speaker for robots without one.
//! - [`CommandSpeaker`] runs a text-to-speech program such as `espeak-ng`,
//!   passing the text as its own argv entry, never through a shell. It does
//!   not wait for speech to end; it waits only for the *previous* utterance,
//!   so consecutive `say`s queue instead of talking over each other.
//! - [`CommandCamera`] runs a capture command (`ffmpeg` on a V4L2 device,
//!   `rpicam-still`, `gst-launch-1.0`, ...) that writes one binary PPM to
//!   stdout, kills it past a timeout, and decodes the image with [`ppm`].
//! - [`ColorBlobDetector`] is an [`crate::capability::ObjectDetector`] over
//!   any [`crate::capability::Camera`]: it finds blobs of known colours
//!   (compared in normalised chromaticity, so shading does not matter) and
//!   turns their size and position into bearing and distance with a pinhole
//!   model. It is the stand-in for a vision model on robots whose objects are
//!   brightly coloured, which the reference house's are.
//! - [`RecordingOutputPin`] is an [`crate::capability::OutputPin`] that only
//!   remembers its level: a motor-enable line on a board that has none, and
//!   a probe in tests. Real GPIO lines (rppal, the GPIO character device)
//!   live in their own backends.
//!
//! Each device has its own typed error mapping onto [`crate::ErrorKind`]: a
//! missing program is `Unsupported`, a capture past its deadline `Timeout`,
//! a bad image `Fault`.

mod blob;
mod camera;
mod pin;
pub mod ppm;
mod process;
mod speaker;

pub use blob::{BlobClass, BlobConfigError, BlobError, ColorBlobDetector, FieldOfView};
pub use camera::{CameraError, CommandCamera};
pub use pin::{RecordingOutputPin, KEPT_WRITES};
pub use ppm::PpmError;
pub use speaker::{CommandSpeaker, ConsoleSpeaker, SpeakerError, DEFAULT_MAX_LEN};
