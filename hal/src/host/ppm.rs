//! Binary PPM (`P6`) images: the one format every capture tool can write to
//! a pipe (`ffmpeg -f image2pipe -vcodec ppm`, `rpicam-still -e ppm`,
//! GStreamer's `pnmenc`) and that needs no codec to read.
//!
//! [`decode`] reads the first image of a byte buffer into an RGB8
//! [`Frame`]: header tokens may be separated by any whitespace and
//! `#` comments; a maximum sample value below 255 is scaled up to 255.
//! Input comes from another program, so every malformed header, truncated
//! raster or implausible size is an error, never a panic or a huge
//! allocation. 16-bit images (maxval above 255) are rejected: ask the
//! capture tool for `rgb24`.

use crate::{ErrorKind, Frame};

/// Largest width or height accepted, in pixels.
pub const MAX_DIMENSION: u32 = 8192;
/// Header tokens longer than this are not numbers any camera writes.
const MAX_DIGITS: usize = 9;

/// Why bytes are not a usable binary PPM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PpmError {
    /// The data does not start with `P6`.
    #[error("not a binary PPM: expected magic `P6`, found {found:?}")]
    BadMagic { found: String },
    /// A header field is missing or not a decimal number.
    #[error("bad PPM header: {0}")]
    BadHeader(&'static str),
    /// Zero, or larger than [`MAX_DIMENSION`] on a side.
    #[error("PPM size {width}x{height} is outside 1..={MAX_DIMENSION} on a side")]
    BadSize { width: u32, height: u32 },
    /// Maximum sample value 0, or above 255 (16-bit samples).
    #[error("PPM maxval {0} is not supported (need 1..=255: 8-bit samples)")]
    BadMaxval(u32),
    /// Fewer raster bytes than the header promises.
    #[error("PPM raster truncated: expected {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    /// A sample larger than the header's maximum value.
    #[error("PPM sample {value} exceeds maxval {maxval}")]
    SampleOverMaxval { value: u8, maxval: u32 },
    /// A frame to encode whose byte count does not match its size.
    #[error("{width}x{height} frame has {len} bytes, expected width*height*3")]
    BadFrame { width: u32, height: u32, len: usize },
}

impl crate::Error for PpmError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Fault
    }
}

/// A cursor over the header.
struct Header<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Header<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Skip from a `#` to just past the end of its line.
    fn skip_comment_line(&mut self) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == b'\n' || c == b'\r' {
                break;
            }
        }
    }

    /// Skip whitespace and comments (a `#` up to the end of its line).
    fn skip_blank(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'#' {
                self.skip_comment_line();
            } else if b.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn number(&mut self, what: &'static str) -> Result<u32, PpmError> {
        self.skip_blank();
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = self.data.get(start..self.pos).unwrap_or_default();
        if digits.is_empty() {
            return Err(PpmError::BadHeader(what));
        }
        // Leading zeros are legal; anything longer is a corrupt header.
        let significant = digits.iter().skip_while(|&&d| d == b'0').count();
        if significant > MAX_DIGITS {
            return Err(PpmError::BadHeader(what));
        }
        Ok(digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    }
}

/// Decode the first binary PPM image in `data`. Bytes after its raster are
/// ignored (a PPM stream may hold several images).
pub fn decode(data: &[u8]) -> Result<Frame, PpmError> {
    if data.get(..2) != Some(b"P6".as_slice()) {
        let found = String::from_utf8_lossy(data.get(..2).unwrap_or(data)).into_owned();
        return Err(PpmError::BadMagic { found });
    }
    let mut h = Header { data, pos: 2 };
    if !h.peek().is_some_and(|b| b.is_ascii_whitespace() || b == b'#') {
        return Err(PpmError::BadHeader("no whitespace after the magic"));
    }
    let width = h.number("width is not a decimal number")?;
    let height = h.number("height is not a decimal number")?;
    if !(1..=MAX_DIMENSION).contains(&width) || !(1..=MAX_DIMENSION).contains(&height) {
        return Err(PpmError::BadSize { width, height });
    }
    let maxval = h.number("maxval is not a decimal number")?;
    if !(1..=255).contains(&maxval) {
        return Err(PpmError::BadMaxval(maxval));
    }
    // Exactly one whitespace byte (or a comment ending in a newline)
    // separates the header from the raster, which may begin with bytes
    // that look like whitespace.
    match h.peek() {
        Some(b'#') => h.skip_comment_line(),
        Some(b) if b.is_ascii_whitespace() => h.pos += 1,
        _ => return Err(PpmError::BadHeader("no whitespace after maxval")),
    }
    // Both sides are at most MAX_DIMENSION, so this cannot overflow.
    let expected = width as usize * height as usize * 3;
    let raster = data.get(h.pos..).unwrap_or_default();
    let Some(raster) = raster.get(..expected) else {
        return Err(PpmError::Truncated { expected, got: raster.len() });
    };
    let rgb = if maxval == 255 {
        raster.to_vec()
    } else {
        if let Some(&value) = raster.iter().find(|&&v| u32::from(v) > maxval) {
            return Err(PpmError::SampleOverMaxval { value, maxval });
        }
        raster.iter().map(|&v| ((u32::from(v) * 255 + maxval / 2) / maxval) as u8).collect()
    };
    Ok(Frame { width, height, rgb })
}

/// Encode a frame as a binary PPM with maxval 255.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, PpmError> {
    let (width, height) = (frame.width, frame.height);
    let need = (width as usize).checked_mul(height as usize).and_then(|n| n.checked_mul(3));
    if need != Some(frame.rgb.len()) {
        return Err(PpmError::BadFrame { width, height, len: frame.rgb.len() });
    }
    if !(1..=MAX_DIMENSION).contains(&width) || !(1..=MAX_DIMENSION).contains(&height) {
        return Err(PpmError::BadSize { width, height });
    }
    let mut out = format!("P6\n{width} {height}\n255\n").into_bytes();
    out.extend_from_slice(&frame.rgb);
    Ok(out)
}
