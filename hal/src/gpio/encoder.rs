//! Wheel-encoder counting, fed by GPIO edge events.
//!
//! The backends call [`Encoders::edge`] from wherever their edges arrive
//! (rppal's interrupt threads on a Pi, the [`super::edges`] worker on the
//! character device); the control loop only ever reads the running counts,
//! which are atomics, so counting never blocks it and it never blocks
//! counting. With A and B channels in one ordered event stream (the
//! character device's single request), every edge of either channel is a
//! quadrature step, direction from the phase (×4 decoding). Where A and B
//! events would arrive on different threads and could be reordered (rppal
//! runs one interrupt thread per pin), only A interrupts, and B's level is
//! read at each A edge ([`Encoders::a_edge_with_b`], ×2 decoding). With A alone the encoder cannot tell
//! direction, so each edge counts in the direction the drive last
//! commanded that wheel ([`Encoders::set_direction`]); a wheel that was
//! never commanded does not count.

use std::sync::atomic::{AtomicI64, AtomicI8, Ordering};
use std::sync::Mutex;

/// Which wheel an encoder line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wheel {
    Left,
    Right,
}

/// Which channel of the wheel's encoder a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    A,
    B,
}

/// The count change for a quadrature transition from AB state `prev` to
/// `next` (bit 1 = A, bit 0 = B): +1 or -1 for a valid Gray-code step,
/// 0 for no change or an impossible double step (a missed edge, which
/// cannot be given a direction).
pub fn quadrature_step(prev: u8, next: u8) -> i8 {
    // Forward is A leading B: 00 -> 10 -> 11 -> 01 -> 00.
    const TABLE: [i8; 16] = [0, -1, 1, 0, 1, 0, 0, -1, -1, 0, 0, 1, 0, 1, -1, 0];
    TABLE[usize::from(((prev & 3) << 2) | (next & 3))]
}

/// One wheel's count.
#[derive(Debug)]
struct WheelCounter {
    count: AtomicI64,
    quadrature: bool,
    /// Current A/B levels; only edge callbacks take this lock.
    levels: Mutex<u8>,
    /// Sign of the last non-zero commanded speed (single-channel counting).
    direction: AtomicI8,
}

impl WheelCounter {
    fn new(quadrature: bool) -> Self {
        Self { count: AtomicI64::new(0), quadrature, levels: Mutex::new(0), direction: AtomicI8::new(0) }
    }

    fn edge(&self, channel: Channel, level: bool) {
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let bit = match channel {
            Channel::A => 2,
            Channel::B => 1,
        };
        let prev = *levels;
        let next = if level { prev | bit } else { prev & !bit };
        *levels = next;
        if prev == next {
            // A repeated level (bounce, or an event for the level we seeded): no step.
            return;
        }
        let step = if self.quadrature {
            quadrature_step(prev, next)
        } else if channel == Channel::A {
            self.direction.load(Ordering::Relaxed)
        } else {
            0
        };
        self.count.fetch_add(i64::from(step), Ordering::Relaxed);
    }
}

/// The running counts of both wheels.
#[derive(Debug)]
pub struct Encoders {
    left: WheelCounter,
    right: WheelCounter,
    fault: Mutex<Option<String>>,
}

impl Encoders {
    /// Counters for two encoders; `*_quadrature` says whether that wheel's
    /// encoder has a B channel.
    pub fn new(left_quadrature: bool, right_quadrature: bool) -> Self {
        Self {
            left: WheelCounter::new(left_quadrature),
            right: WheelCounter::new(right_quadrature),
            fault: Mutex::new(None),
        }
    }

    fn wheel(&self, w: Wheel) -> &WheelCounter {
        match w {
            Wheel::Left => &self.left,
            Wheel::Right => &self.right,
        }
    }

    /// Record the levels read when the lines were opened, so the first edge
    /// decodes against the real state.
    pub fn seed(&self, wheel: Wheel, a: bool, b: bool) {
        let mut levels = self.wheel(wheel).levels.lock().unwrap_or_else(|p| p.into_inner());
        *levels = (u8::from(a) << 1) | u8::from(b);
    }

    /// An edge on `channel` of `wheel`'s encoder; `level` is the line's new level.
    pub fn edge(&self, wheel: Wheel, channel: Channel, level: bool) {
        self.wheel(wheel).edge(channel, level);
    }

    /// An edge of A to `a`, with B read at `b` at the same moment (×2
    /// decoding): forward when they differ (A leads B), backward when equal.
    pub fn a_edge_with_b(&self, wheel: Wheel, a: bool, b: bool) {
        let step = if a != b { 1 } else { -1 };
        self.wheel(wheel).count.fetch_add(step, Ordering::Relaxed);
    }

    /// Tell single-channel counting which way a wheel is commanded to turn.
    /// Zero keeps the last direction: a wheel coasting to a stop still turns that way.
    pub fn set_direction(&self, wheel: Wheel, speed_mps: f64) {
        let sign = if speed_mps > 0.0 {
            1
        } else if speed_mps < 0.0 {
            -1
        } else {
            return;
        };
        self.wheel(wheel).direction.store(sign, Ordering::Relaxed);
    }

    /// `[left, right]` counts, forward positive.
    pub fn counts(&self) -> [i64; 2] {
        [self.left.count.load(Ordering::Relaxed), self.right.count.load(Ordering::Relaxed)]
    }

    /// Mark the counts unreliable (the edge source failed); odometry reports it.
    pub fn set_fault(&self, message: String) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
    }

    pub fn fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AB levels of a quadrature encoder `n` steps forward from 00.
    fn ab(n: i64) -> (bool, bool) {
        match n.rem_euclid(4) {
            0 => (false, false),
            1 => (true, false),
            2 => (true, true),
            _ => (false, true),
        }
    }

    fn roll(e: &Encoders, wheel: Wheel, from: i64, to: i64) {
        let step = if to > from { 1 } else { -1 };
        let mut n = from;
        while n != to {
            let (a0, b0) = ab(n);
            n += step;
            let (a1, b1) = ab(n);
            if a0 != a1 {
                e.edge(wheel, Channel::A, a1);
            }
            if b0 != b1 {
                e.edge(wheel, Channel::B, b1);
            }
        }
    }

    #[test]
    fn quadrature_counts_both_ways() {
        let e = Encoders::new(true, true);
        roll(&e, Wheel::Left, 0, 1000);
        roll(&e, Wheel::Right, 0, -37);
        assert_eq!(e.counts(), [1000, -37]);
        roll(&e, Wheel::Left, 1000, 990);
        assert_eq!(e.counts(), [990, -37]);
    }

    #[test]
    fn quadrature_ignores_repeats_and_double_steps() {
        assert_eq!(quadrature_step(0b00, 0b11), 0);
        assert_eq!(quadrature_step(0b10, 0b10), 0);
        let e = Encoders::new(true, true);
        e.edge(Wheel::Left, Channel::A, true);
        e.edge(Wheel::Left, Channel::A, true); // bounce: same level again
        assert_eq!(e.counts(), [1, 0]);
    }

    #[test]
    fn x2_decoding_reads_b_at_each_a_edge() {
        let e = Encoders::new(false, false);
        // Forward: A rises while B is low, falls while B is high.
        for n in 0..100 {
            let (a, b) = ab(n + 1);
            if ab(n).0 != a {
                e.a_edge_with_b(Wheel::Right, a, b);
            }
        }
        assert_eq!(e.counts(), [0, 50]);
        for n in (0..100).rev() {
            let (a, b) = ab(n);
            if ab(n + 1).0 != a {
                e.a_edge_with_b(Wheel::Right, a, b);
            }
        }
        assert_eq!(e.counts(), [0, 0]);
    }

    #[test]
    fn seeded_levels_decode_the_first_edge() {
        let e = Encoders::new(true, true);
        // The wheel rests at AB = 11; the next forward step drops A.
        e.seed(Wheel::Right, true, true);
        e.edge(Wheel::Right, Channel::A, false);
        assert_eq!(e.counts(), [0, 1]);
    }

    #[test]
    fn single_channel_counts_in_the_commanded_direction() {
        let e = Encoders::new(false, false);
        e.edge(Wheel::Left, Channel::A, true); // never commanded: not counted
        e.set_direction(Wheel::Left, 0.2);
        e.edge(Wheel::Left, Channel::A, false);
        e.edge(Wheel::Left, Channel::A, true);
        e.set_direction(Wheel::Left, 0.0); // coasting keeps the direction
        e.edge(Wheel::Left, Channel::A, false);
        e.set_direction(Wheel::Left, -0.1);
        e.edge(Wheel::Left, Channel::A, true);
        assert_eq!(e.counts(), [2, 0]);
        assert!(e.fault().is_none());
        e.set_fault("edge events: device gone".into());
        assert_eq!(e.fault().as_deref(), Some("edge events: device gone"));
    }
}
