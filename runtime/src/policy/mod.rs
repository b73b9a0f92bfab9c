//! The policy: autonomy levels L0-L5 and the board's safety rules, enforced
//! in plain code outside any model.
//!
//! Before a program starts, [`Policy::preflight`] checks who sent it at
//! which level, validates it against the board's tools, checks every
//! unrolled step against the board's [`Rules`](robot_hal::board::Rules)
//! (speed, single move, forbidden tools, battery, step count) and
//! dead-reckons its path against the geofence; it either rejects the
//! program with every reason or says which operator confirmations it needs.
//! While it runs, [`Policy::monitor`] is called on every control tick.
//! The level is capped by the board, raised only by an operator and
//! lowered by faults; [`Policy::on_anomaly`] says how each level reacts
//! when a step fails. `docs/autonomy.md` is the human-readable version of
//! these rules (after SAE J3016); the tests pin them.

mod confirm;
mod geofence;
mod level;
mod monitor;
mod path;
mod places;
mod preflight;
mod rejection;
mod source;

#[cfg(test)]
mod tests;

pub use confirm::Confirmation;
pub use geofence::Geofence;
pub use level::{AnomalyResponse, Fault, Policy, PolicyError, DEFAULT_CONFIDENCE_THRESHOLD, DEFAULT_GEOFENCE_MARGIN_M};
pub use monitor::RuleViolation;
pub use path::SAMPLE_SPACING_M;
pub use places::PlaceLookup;
pub use preflight::Preflight;
pub use rejection::{Problem, Rejection, RejectionKind};
pub use source::{RunContext, Source};
