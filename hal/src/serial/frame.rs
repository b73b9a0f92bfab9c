//! Byte-level framing: postcard body, CRC-16, COBS, zero delimiters.
//!
//! A frame on the wire is `0x00, COBS(postcard(Frame) ++ crc16_le), 0x00`.
//! COBS removes every zero from the payload, so a zero always marks a frame
//! boundary and a receiver that lost sync (noise, a reset mid-frame) only
//! has to wait for the next zero. The leading zero is what makes garbage
//! *between* frames harmless: it terminates whatever junk came before, so
//! the frame that follows arrives intact. Empty frames (two zeros in a row)
//! are ignored. Everything here works in fixed `heapless` buffers: nothing
//! allocates per frame.

use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Serialize};

use super::messages::Frame;

/// Largest frame on the wire, both delimiters included.
pub const MAX_FRAME: usize = 64;
/// Largest COBS chunk between the delimiters.
pub const MAX_CHUNK: usize = MAX_FRAME - 2;
/// Largest body (postcard + CRC) whose COBS encoding fits in a chunk.
pub const MAX_BODY: usize = MAX_CHUNK - 1;
/// Bytes of CRC at the end of the body.
pub const CRC_LEN: usize = 2;

/// CRC-16/IBM-3740 (a.k.a. CCITT-FALSE: poly 0x1021, init 0xFFFF, no
/// reflection, no final xor), sent little-endian.
pub const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);

/// An encoded frame, delimiters included, ready to write.
pub type WireFrame = heapless::Vec<u8, MAX_FRAME>;
/// A frame body: postcard bytes followed by the CRC.
pub type Body = heapless::Vec<u8, MAX_BODY>;

/// Why a frame could not be built or was dropped on receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    #[error("frame longer than {MAX_FRAME} bytes")]
    TooLong,
    #[error("invalid COBS encoding")]
    Cobs,
    #[error("frame shorter than its CRC")]
    TooShort,
    #[error("CRC mismatch")]
    Crc,
    #[error("body does not decode: {0}")]
    Postcard(postcard::Error),
}

/// Serialise a frame and append its CRC.
pub fn encode_body<M: Serialize>(frame: &Frame<M>) -> Result<Body, FrameError> {
    let mut buf = [0u8; MAX_BODY - CRC_LEN];
    let used = postcard::to_slice(frame, &mut buf).map_err(|e| match e {
        postcard::Error::SerializeBufferFull => FrameError::TooLong,
        other => FrameError::Postcard(other),
    })?;
    let mut body = Body::new();
    body.extend_from_slice(used).map_err(|()| FrameError::TooLong)?;
    body.extend_from_slice(&CRC16.checksum(used).to_le_bytes()).map_err(|()| FrameError::TooLong)?;
    Ok(body)
}

/// COBS-encode a body between two zero delimiters.
pub fn wrap(body: &[u8]) -> Result<WireFrame, FrameError> {
    let mut chunk = [0u8; MAX_CHUNK];
    let n = cobs::try_encode(body, &mut chunk).map_err(|_| FrameError::TooLong)?;
    let mut out = WireFrame::new();
    let parts: [&[u8]; 3] = [&[0], &chunk[..n], &[0]];
    for part in parts {
        out.extend_from_slice(part).map_err(|()| FrameError::TooLong)?;
    }
    Ok(out)
}

/// Encode a frame for the wire.
pub fn encode<M: Serialize>(frame: &Frame<M>) -> Result<WireFrame, FrameError> {
    wrap(&encode_body(frame)?)
}

/// Check the CRC of a decoded (un-COBSed) body and deserialise it.
pub fn decode_body<M: DeserializeOwned>(body: &[u8]) -> Result<Frame<M>, FrameError> {
    if body.len() < CRC_LEN {
        return Err(FrameError::TooShort);
    }
    let (data, crc) = body.split_at(body.len() - CRC_LEN);
    let sent = u16::from_le_bytes([crc[0], crc[1]]);
    if CRC16.checksum(data) != sent {
        return Err(FrameError::Crc);
    }
    let (frame, rest) = postcard::take_from_bytes(data).map_err(FrameError::Postcard)?;
    // Trailing bytes under a valid CRC mean sender and receiver disagree on
    // the message layout; accepting the prefix would hide that.
    if !rest.is_empty() {
        return Err(FrameError::Postcard(postcard::Error::DeserializeBadEncoding));
    }
    Ok(frame)
}

/// What the decoder has seen, for link statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecoderStats {
    /// Frames that passed every check.
    pub frames_ok: u64,
    /// Frames dropped for a bad CRC.
    pub crc_errors: u64,
    /// Frames dropped for bad COBS, a short body, or a body that does not
    /// deserialise.
    pub malformed: u64,
    /// Chunks longer than [`MAX_CHUNK`], skipped up to the next delimiter.
    pub overruns: u64,
    /// Times the decoder discarded bytes to find the next frame (the sum of
    /// the three error counters above).
    pub resyncs: u64,
}

/// Streaming decoder: feed it bytes as they arrive, get frames out.
#[derive(Debug)]
pub struct FrameDecoder<M> {
    chunk: heapless::Vec<u8, MAX_CHUNK>,
    /// Set when the current chunk overflowed: skip until the next zero.
    skipping: bool,
    stats: DecoderStats,
    _msg: PhantomData<fn() -> M>,
}

impl<M> Default for FrameDecoder<M> {
    fn default() -> Self {
        Self { chunk: heapless::Vec::new(), skipping: false, stats: DecoderStats::default(), _msg: PhantomData }
    }
}

impl<M: DeserializeOwned> FrameDecoder<M> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Feed one byte. Returns `Some` when a delimiter completes a non-empty
    /// chunk: the frame, or why it was dropped (already counted in stats).
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame<M>, FrameError>> {
        if byte != 0 {
            if !self.skipping && self.chunk.push(byte).is_err() {
                self.skipping = true;
                self.chunk.clear();
            }
            return None;
        }
        if std::mem::take(&mut self.skipping) {
            self.stats.overruns += 1;
            self.stats.resyncs += 1;
            return Some(Err(FrameError::TooLong));
        }
        if self.chunk.is_empty() {
            return None;
        }
        let result = Self::decode_chunk(&mut self.chunk);
        self.chunk.clear();
        match &result {
            Ok(_) => self.stats.frames_ok += 1,
            Err(FrameError::Crc) => {
                self.stats.crc_errors += 1;
                self.stats.resyncs += 1;
            }
            Err(_) => {
                self.stats.malformed += 1;
                self.stats.resyncs += 1;
            }
        }
        Some(result)
    }

    fn decode_chunk(chunk: &mut [u8]) -> Result<Frame<M>, FrameError> {
        let n = cobs::decode_in_place(chunk).map_err(|_| FrameError::Cobs)?;
        let body = chunk.get(..n).ok_or(FrameError::Cobs)?;
        decode_body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::messages::{McuState, Reply, Request};

    #[test]
    fn largest_reply_fits() {
        let state = McuState {
            x_mm: i32::MIN,
            y_mm: i32::MAX,
            heading_cdeg: i32::MIN,
            range_mm: u16::MAX,
            battery_mv: u16::MAX,
            charge_permille: u16::MAX,
            temp_cdeg: i16::MIN,
            estop_line_low: true,
            estopped: true,
            gripper_closed: true,
            holding: true,
        };
        let frame = Frame { seq: u16::MAX, msg: Reply::State { seq: u16::MAX, state } };
        let wire = encode(&frame).expect("largest frame fits");
        assert!(wire.len() <= MAX_FRAME);
        let mut dec = FrameDecoder::<Reply>::new();
        let got: Vec<_> = wire.iter().filter_map(|b| dec.push(*b)).collect();
        assert_eq!(got, vec![Ok(frame)]);
    }

    #[test]
    fn flipped_bit_is_a_crc_error() {
        let frame = Frame { seq: 7, msg: Request::SetWheels { left_mm_s: 100, right_mm_s: -100 } };
        let mut body = encode_body(&frame).expect("encodes");
        body[1] ^= 0x10;
        let wire = wrap(&body).expect("wraps");
        let mut dec = FrameDecoder::<Request>::new();
        let got: Vec<_> = wire.iter().filter_map(|b| dec.push(*b)).collect();
        assert_eq!(got, vec![Err(FrameError::Crc)]);
        assert_eq!(dec.stats().crc_errors, 1);
        assert_eq!(dec.stats().resyncs, 1);
    }

    #[test]
    fn overlong_chunk_is_skipped_and_next_frame_decodes() {
        let mut dec = FrameDecoder::<Request>::new();
        for _ in 0..200 {
            assert!(dec.push(0x55).is_none());
        }
        let frame = Frame { seq: 1, msg: Request::Ping };
        let wire = encode(&frame).expect("encodes");
        let got: Vec<_> = wire.iter().filter_map(|b| dec.push(*b)).collect();
        assert_eq!(got, vec![Err(FrameError::TooLong), Ok(frame)]);
        assert_eq!(dec.stats().overruns, 1);
    }

    #[test]
    fn crc_matches_the_catalogue_check_value() {
        // The check value every CRC-16/IBM-3740 implementation must produce;
        // firmware authors can test against the same constant.
        assert_eq!(CRC16.checksum(b"123456789"), 0x29B1);
    }
}
