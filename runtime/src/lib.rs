//! The robot agent runtime.
//!
//! A program (typed by an operator, or proposed by the brain) goes through
//! [`policy`] (autonomy level and the board's rules), then the [`executor`]
//! runs it step by step through [`skills`] bound to the board's devices,
//! verifying every step against sensors. The [`safety`] latch sits below all
//! of it: the kill-switch line is watched by its own thread, which commands
//! every actuator safe directly, without waiting on the executor. Every
//! input, decision, step and safety event goes to the [`recorder`].

pub mod assets;
pub mod backends;
pub mod devices;
pub mod executor;
pub mod host;
pub mod memory;
pub mod places;
pub mod policy;
pub mod recorder;
pub mod remote;
pub mod safety;
pub mod service;
pub mod session;
pub mod skills;
pub mod sync;
pub mod voice_bias;
