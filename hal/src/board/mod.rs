//! Board files: one TOML file per robot that says what it is made of.
//!
//! A board file names the backend (simulator, serial co-processor, Raspberry
//! Pi or Linux GPIO, with its `[gpio]` pins), the autonomy cap, the safety
//! rules the policy enforces, the kill-switch line, verification tolerances,
//! known places and the navigation roadmap, and the tools with their typed
//! arguments. The format is documented in `boards/README.md`; `robot
//! check-board` runs [`BoardFile::load`] and reports problems with file,
//! line and column.

mod file;
mod load;

pub use file::*;
pub use load::BoardError;
