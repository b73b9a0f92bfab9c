//! The program language: the brain's output format and the operator's teleop language.
//!
//! ```text
//! drive(distance_m=2); turn(angle_deg=-90); repeat(3) { go_to(place="kitchen"); say(text="hi") }
//! ```
//!
//! [`parse`] turns text into a [`Program`] with precise errors (line, column,
//! what was expected); [`Program`]'s `Display` is the pretty-printer and
//! `parse(p.to_string()) == p`; [`json`] converts to and from the JSON step
//! list of the spec (loops unrolled). Checking calls against a board's tools
//! is [`crate::tools::ToolRegistry::validate`].

mod ast;
pub mod json;
mod parse;
mod print;

pub use ast::{Arg, Call, Program, Stmt, Value, MAX_UNROLLED_STEPS};
pub use json::{steps_from_json, steps_to_json, JsonError};
pub use parse::{is_ident, is_tool_name, parse, ParseError, MAX_REPEAT_DEPTH, MAX_REPEAT_TIMES};
