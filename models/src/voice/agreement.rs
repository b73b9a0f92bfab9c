//! Whether what was heard is clear enough to act on. The recognizer ranks
//! several readings of an utterance ([`super::Transcript::alternatives`]);
//! the brain plans the best one and every runner-up that the recognizer
//! found nearly as likely, and the readings vote with their recognizer
//! probability. Readings that differ only in words the plan does not use
//! ("check the battery then turn" / "... then sure") agree; readings that
//! plan different things ("reverse thirty" / "reverse forty") do not, and
//! when the best plan's share of the vote is below
//! [`AgreementConfig::min_agreement`] the voice path asks the speaker to
//! say it again instead of acting on a guess.
//!
//! This sits between speech recognition and policy: it never makes a plan
//! more permissive, it only withholds one. A best reading the brain
//! refuses stays refused whatever the runners-up plan. An engine that
//! reports no alternatives (a Wyoming server) is always clear.

use super::stt::Alternative;
use crate::brain::{Brain, BrainError, PlanResult, PlanStatus, Timing};

/// How the readings are weighed.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementConfig {
    /// Least share of the recognizer's probability that must agree with
    /// the best reading's plan for the plan to be acted on.
    pub min_agreement: f32,
    /// Runners-up more than this far below the best (natural log) are not
    /// planned: at 8 a reading weighs under 0.04% of the best.
    pub margin: f32,
    /// Most readings planned, the best included (each costs one brain run).
    pub max_readings: usize,
}

impl Default for AgreementConfig {
    fn default() -> Self {
        AgreementConfig { min_agreement: 0.7, margin: 8.0, max_readings: 8 }
    }
}

/// A runner-up reading that plans something else.
#[derive(Debug, Clone, PartialEq)]
pub struct Rival {
    pub text: String,
    pub plan: PlanResult,
    /// Its recognizer score relative to the best reading (<= 0).
    pub score: f32,
}

/// The plan of an utterance's best reading and how far the others agree.
#[derive(Debug, Clone)]
pub struct Understood {
    /// The best reading's text and plan.
    pub transcript: String,
    pub plan: PlanResult,
    /// Share of the likely readings' probability whose plan is known to
    /// equal `plan`. Planning stops as soon as the readings left could not
    /// change the decision; those count as disagreeing, so this is a lower
    /// bound (1 when `plan` is a refusal: nothing else is planned then).
    pub agreement: f32,
    /// How many readings were planned.
    pub readings: usize,
    /// The likeliest reading with a different plan, if any.
    pub rival: Option<Rival>,
    /// Brain time over all readings.
    pub timing: Timing,
    clear: bool,
}

impl Understood {
    /// Whether to act on `plan`: it is a refusal (nothing runs), or enough
    /// of the readings agree with it.
    pub fn is_clear(&self) -> bool {
        self.clear
    }
}

/// What makes two plans the same: status and program text.
fn key(r: &PlanResult) -> Option<String> {
    (r.status == PlanStatus::Ok).then(|| r.program_text())
}

fn add(t: &mut Timing, more: &Timing) {
    t.encode += more.encode;
    t.decode += more.decode;
    t.steps += more.steps;
}

/// Plans `best` and those of `alternatives` within the margin, and says
/// whether they agree. `alternatives` are runners-up of `best`, best first,
/// scored relative to it (as [`super::Transcript::alternatives`]).
pub fn understand(
    brain: &mut Brain,
    best: &str,
    alternatives: &[Alternative],
    config: &AgreementConfig,
) -> Result<Understood, BrainError> {
    let (plan, mut timing) = brain.plan_timed(best)?;
    let mine = key(&plan);
    let (mut agree, mut against, mut whole, mut readings) = (1.0f64, 0.0f64, 1.0f64, 1usize);
    let mut rival: Option<Rival> = None;
    let tau = f64::from(config.min_agreement);
    if plan.status == PlanStatus::Ok {
        let near: Vec<&Alternative> = alternatives
            .iter()
            .filter(|a| a.score.is_finite() && a.score >= -config.margin && a.text != best && !a.text.is_empty())
            .take(config.max_readings.saturating_sub(1))
            .collect();
        let weight = |a: &Alternative| f64::from(a.score.min(0.0)).exp();
        // Every reading's weight is known before any is planned, so planning
        // stops once the rest cannot change the decision either way.
        whole += near.iter().map(|a| weight(a)).sum::<f64>();
        for alt in near {
            if agree / whole >= tau || (whole - against) / whole < tau {
                break;
            }
            let (r, t) = brain.plan_timed(&alt.text)?;
            add(&mut timing, &t);
            readings += 1;
            if key(&r) == mine {
                agree += weight(alt);
            } else {
                against += weight(alt);
                if rival.is_none() {
                    rival = Some(Rival { text: alt.text.clone(), plan: r, score: alt.score });
                }
            }
        }
    }
    let agreement = (agree / whole) as f32;
    let clear = plan.status != PlanStatus::Ok || agree / whole >= tau;
    Ok(Understood { transcript: best.to_string(), plan, agreement, readings, rival, timing, clear })
}
