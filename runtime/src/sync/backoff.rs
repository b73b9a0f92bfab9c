//! Reconnect delays: exponential backoff with seeded jitter.
//!
//! After a broker restart every robot of a fleet sees the connection drop at
//! the same instant; without jitter they would all reconnect in lockstep and
//! hit the broker together at every step. The jitter comes from a seeded
//! generator (the robot id hashed, by default) so a simulated run, and every
//! test, sees the same delays every time.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The shape of the delays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// The delay before the first retry (before jitter).
    pub initial: Duration,
    /// The longest delay (before jitter).
    pub max: Duration,
    /// How much each failure multiplies the delay.
    pub factor: f64,
    /// The fraction of each delay that is random: 0.0 is no jitter, 0.5
    /// draws each delay from `[d/2, d]`.
    pub jitter: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig { initial: Duration::from_millis(500), max: Duration::from_secs(30), factor: 2.0, jitter: 0.5 }
    }
}

/// The delay sequence; [`Backoff::reset`] after a successful connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    rng: ChaCha8Rng,
}

impl Backoff {
    pub fn new(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff { config, attempt: 0, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let c = self.config;
        let max = c.max.as_secs_f64().max(0.0);
        let factor = if c.factor.is_finite() && c.factor >= 1.0 { c.factor } else { 1.0 };
        // Exponent capped so the power cannot overflow to infinity; the cap
        // is reached long before that for any sane settings.
        let base = (c.initial.as_secs_f64() * factor.powi(self.attempt.min(64) as i32)).min(max);
        self.attempt = self.attempt.saturating_add(1);
        let jitter = if c.jitter.is_finite() { c.jitter.clamp(0.0, 1.0) } else { 0.0 };
        let low = base * (1.0 - jitter);
        let d = if base > low { self.rng.gen_range(low..=base) } else { base };
        Duration::try_from_secs_f64(d).unwrap_or(c.max)
    }

    /// Start again from the initial delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// A stable seed from a name (FNV-1a), so each robot jitters differently but
/// the same robot jitters the same way every run.
pub fn seed_from(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BackoffConfig {
        BackoffConfig { initial: Duration::from_millis(100), max: Duration::from_secs(2), factor: 2.0, jitter: 0.5 }
    }

    #[test]
    fn grows_within_the_jitter_band_and_stops_at_the_cap() {
        let mut b = Backoff::new(cfg(), 1);
        for attempt in 0..12u32 {
            let nominal = (0.1 * 2f64.powi(attempt as i32)).min(2.0);
            let d = b.next_delay().as_secs_f64();
            assert!(d >= nominal * 0.5 - 1e-9 && d <= nominal + 1e-9, "attempt {attempt}: {d} vs {nominal}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn same_seed_same_delays_other_seed_other_delays() {
        let run = |seed| {
            let mut b = Backoff::new(cfg(), seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn nonsense_settings_do_not_panic() {
        let mut b = Backoff::new(
            BackoffConfig { initial: Duration::MAX, max: Duration::from_secs(1), factor: f64::NAN, jitter: 7.0 },
            0,
        );
        for _ in 0..100 {
            assert!(b.next_delay() <= Duration::from_secs(1));
        }
    }
}
