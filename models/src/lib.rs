//! `robot-models` holds the robot's brain: the pieces that turn what a person
//! says into a program of the board's tools, on the robot, without a network.
//!
//! The first stage is [`normalize`]: a deterministic, pure rewrite of every
//! utterance (case, punctuation, number words, units) that runs before
//! tokenization, both here at inference time and in the Python training
//! pipeline (through a CLI), so that the model only ever sees one spelling of
//! "two and a half feet" and never has to learn arithmetic.
//!
//! [`kernels`] holds the SIMD hot loops around inference (memory search,
//! constrained decoding), with a portable reference and run-time dispatch.
//!
//! [`brain`] is the planner itself: the tokenizer, the encoder/decoder on
//! tract and greedy decoding constrained by a grammar built from the board's
//! tool registry, so every plan is a valid program (`models/brain/FORMAT.md`).
//!
//! [`embed`] turns text into sentence embeddings for the robot's memory
//! search, with the original (not fine-tuned) MiniLM in `models/embed/`.

pub mod brain;
pub mod embed;
pub mod kernels;
pub mod manifest;
pub mod normalize;
pub mod voice;
