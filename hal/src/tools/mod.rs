//! The tool registry: what the robot can do, as the brain and the operator see it.
//!
//! Tools are declared in the board file (name, typed arguments with units and
//! limits, risk class, example phrasings, and the built-in skill that handles
//! them). The registry is the single source of truth for everything that
//! generates or checks programs: the parser's validation, the policy's risk
//! decisions, the brain's constrained decoding grammar. A board with other
//! tools gets another registry with no code changes.

mod registry;
mod spec;
mod validate;

pub use registry::{RegistryError, ToolRegistry};
pub use spec::{ArgSpec, ArgType, RiskClass, ToolSpec};
pub use validate::{ValidationError, ValidationErrorKind};
