//! The executor: runs a program step by step and verifies every step.
//!
//! Before the first step the [`crate::policy`] decides (reject, ask once,
//! ask per step, or run). Each step runs its skill under a deadline on the
//! injected clock; the skill's [`crate::skills::Outcome`] is compared with
//! what the step meant, a mismatch is retried (as many times as the board's
//! `verify.retries`, aiming at the same goal), then the program stops and
//! the policy's anomaly response applies. A kill-switch engagement aborts
//! the step at the next control tick; the actuators were already made safe
//! by the latch itself. Everything goes to the flight recorder, and with a
//! memory store attached ([`Executor::attach_memory`]) each run is also kept
//! as an episode.

mod confirm;
mod episode;
mod report;
mod run;

pub use confirm::{Answer, Confirmer, NoOperator, ScriptedConfirmer, TerminalConfirmer, YesToAll};
pub use report::{RunReport, RunStatus, StepReport, StepStatus};
pub use run::Executor;
