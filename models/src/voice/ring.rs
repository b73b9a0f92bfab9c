//! The hand-off between a live microphone callback and the listening loop: a
//! lock-free single-producer single-consumer ring (`rtrb`) of mono samples
//! at the device's rate.
//!
//! The audio callback runs on a real-time thread that must never block,
//! allocate or wait for the consumer. [`MicProducer::push_interleaved`] (for a
//! future `cpal` input callback: `move |data: &[f32], _| producer.push_interleaved(data)`)
//! downmixes in place and writes what fits; when the consumer has fallen
//! behind, the samples that do not fit — the newest ones, since a producer
//! cannot take from the consumer's end — are dropped and counted in an
//! atomic the consumer reads ([`MicConsumer::dropped`]), so an overrun shows
//! up as a number instead of a stall. The consumer side resamples to 16 kHz
//! with [`super::resample::Resampler16k`] outside the callback.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rtrb::{Consumer, Producer, RingBuffer};

use super::VoiceError;

/// Creates a ring holding `capacity` mono samples, fed from a device with
/// `channels` interleaved channels. Two seconds of audio
/// (`2 * device_rate`) leave the consumer time for a VAD call and more.
pub fn mic_ring(capacity: usize, channels: u16) -> Result<(MicProducer, MicConsumer), VoiceError> {
    if capacity == 0 || channels == 0 {
        return Err(VoiceError::Config { reason: format!("ring of {capacity} samples for {channels} channels") });
    }
    let (tx, rx) = RingBuffer::new(capacity);
    let dropped = Arc::new(AtomicU64::new(0));
    Ok((
        MicProducer { tx, channels: usize::from(channels), dropped: Arc::clone(&dropped) },
        MicConsumer { rx, dropped },
    ))
}

/// The audio callback's end.
pub struct MicProducer {
    tx: Producer<f32>,
    channels: usize,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for MicProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicProducer").field("channels", &self.channels).finish_non_exhaustive()
    }
}

impl MicProducer {
    /// Frames that fit now: a producer that may wait (not an audio
    /// callback) pushes at most this many to drop nothing.
    pub fn free(&self) -> usize {
        self.tx.slots()
    }

    /// Pushes mono samples; returns how many were written (the rest dropped
    /// and counted). Never blocks or allocates.
    pub fn push(&mut self, mono: &[f32]) -> usize {
        let (written, rest) = self.tx.push_partial_slice(mono);
        if !rest.is_empty() {
            self.dropped.fetch_add(rest.len() as u64, Ordering::Relaxed);
        }
        written.len()
    }

    /// Pushes interleaved frames of the ring's channel count, averaged to
    /// mono; a trailing partial frame is ignored. Returns the mono samples
    /// written. Never blocks or allocates.
    pub fn push_interleaved(&mut self, interleaved: &[f32]) -> usize {
        if self.channels == 1 {
            return self.push(interleaved);
        }
        let frames = interleaved.len() / self.channels;
        let n = frames.min(self.tx.slots());
        if n < frames {
            self.dropped.fetch_add((frames - n) as u64, Ordering::Relaxed);
        }
        let Ok(chunk) = self.tx.write_chunk_uninit(n) else {
            // `n` never exceeds the free slots read just above; count it as
            // dropped rather than trust that in a real-time callback.
            self.dropped.fetch_add(n as u64, Ordering::Relaxed);
            return 0;
        };
        let scale = 1.0 / self.channels as f32;
        chunk.fill_from_iter(interleaved.chunks_exact(self.channels).take(n).map(|f| f.iter().sum::<f32>() * scale))
    }
}

/// The listening loop's end.
pub struct MicConsumer {
    rx: Consumer<f32>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for MicConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicConsumer").field("dropped", &self.dropped()).finish_non_exhaustive()
    }
}

impl MicConsumer {
    /// Moves every buffered sample to the end of `out`; returns how many.
    pub fn drain_into(&mut self, out: &mut Vec<f32>) -> usize {
        let n = self.rx.slots();
        let Ok(chunk) = self.rx.read_chunk(n) else { return 0 };
        let (a, b) = chunk.as_slices();
        out.extend_from_slice(a);
        out.extend_from_slice(b);
        chunk.commit_all();
        n
    }

    /// Samples waiting.
    pub fn available(&self) -> usize {
        self.rx.slots()
    }

    /// Samples the producer had to drop since the ring was made.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the producer is gone (the device stopped).
    pub fn is_closed(&self) -> bool {
        self.rx.is_abandoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_round_trip_and_overflow_counts() {
        let (mut tx, mut rx) = mic_ring(8, 1).unwrap();
        assert_eq!(tx.push(&[1.0, 2.0, 3.0]), 3);
        assert_eq!(tx.push(&[4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]), 5);
        assert_eq!(rx.dropped(), 2);
        let mut out = Vec::new();
        assert_eq!(rx.drain_into(&mut out), 8);
        assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        // Space is back after draining, across the wrap-around.
        assert_eq!(tx.push(&[11.0, 12.0, 13.0]), 3);
        out.clear();
        rx.drain_into(&mut out);
        assert_eq!(out, [11.0, 12.0, 13.0]);
        assert_eq!(rx.dropped(), 2);
    }

    #[test]
    fn interleaved_frames_are_averaged_and_partial_frames_ignored() {
        let (mut tx, mut rx) = mic_ring(3, 2).unwrap();
        assert_eq!(tx.push_interleaved(&[1.0, 0.0, 0.5, 0.5, -1.0, -0.5, 9.0]), 3);
        assert_eq!(tx.push_interleaved(&[1.0, 1.0, 1.0, 1.0]), 0);
        assert_eq!(rx.dropped(), 2);
        let mut out = Vec::new();
        rx.drain_into(&mut out);
        assert_eq!(out, [0.5, 0.5, -0.75]);
    }

    #[test]
    fn threads_hand_over_every_sample_in_order() {
        let (mut tx, mut rx) = mic_ring(64, 1).unwrap();
        let producer = std::thread::spawn(move || {
            let mut next = 0u32;
            while next < 10_000 {
                let block: Vec<f32> = (next..(next + 17).min(10_000)).map(|v| v as f32).collect();
                // Retry what did not fit: a test producer can wait, a callback would drop.
                let mut rest = &block[..];
                while !rest.is_empty() {
                    let n = tx.tx.push_partial_slice(rest).0.len();
                    rest = &rest[n..];
                    std::thread::yield_now();
                }
                next += block.len() as u32;
            }
        });
        let mut got = Vec::new();
        while got.len() < 10_000 {
            if rx.drain_into(&mut got) == 0 {
                std::thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert!(got.iter().enumerate().all(|(i, &v)| v == i as f32));
        assert!(rx.is_closed());
        assert_eq!(rx.dropped(), 0);
    }

    #[test]
    fn degenerate_rings_are_refused() {
        assert!(mic_ring(0, 1).is_err());
        assert!(mic_ring(16, 0).is_err());
    }
}
