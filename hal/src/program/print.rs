//! The pretty-printer: the canonical text of a program.
//!
//! Flight logs, confirmations and the operator console all show programs as
//! text, and a logged program must replay as exactly the program that ran, so
//! printing is the inverse of [`super::parse`]: statements are separated by
//! `"; "`, strings are always double-quoted with escapes, and numbers use
//! Rust's shortest round-trip formatting (`2.0` prints `2`, `-0.0` prints
//! `-0`), switching to exponent notation only where plain digits would be
//! absurdly long. That holds for every program the parser can produce:
//! finite numbers, identifier names, tools not called `repeat`, repeat counts
//! in `1..=1000` nested at most 16 deep. Anything else still prints (NaN as
//! `NaN`, say), but does not parse back.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{Arg, Call, Program, Stmt, Value};

/// Shortest digits that read back as the same f64. Plain decimal notation
/// for everyday magnitudes; `1e300` and `5e-324` in exponent form so they do
/// not print as hundreds of zeros.
fn write_number(f: &mut Formatter<'_>, n: f64) -> fmt::Result {
    let a = n.abs();
    if a == 0.0 || !a.is_finite() || (1e-5..1e16).contains(&a) {
        write!(f, "{n}")
    } else {
        write!(f, "{n:e}")
    }
}

fn write_quoted(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            // Other control characters would be invisible or break the line.
            c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => write_number(f, *n),
            Value::Str(s) => write_quoted(f, s),
        }
    }
}

impl Display for Arg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

impl Display for Call {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.tool)?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        f.write_char(')')
    }
}

fn write_stmts(f: &mut Formatter<'_>, stmts: &[Stmt]) -> fmt::Result {
    for (i, s) in stmts.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        write!(f, "{s}")?;
    }
    Ok(())
}

impl Display for Stmt {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stmt::Call(c) => write!(f, "{c}"),
            Stmt::Repeat { times, body } if body.is_empty() => write!(f, "repeat({times}) {{}}"),
            Stmt::Repeat { times, body } => {
                write!(f, "repeat({times}) {{ ")?;
                write_stmts(f, body)?;
                f.write_str(" }")
            }
        }
    }
}

impl Display for Program {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_stmts(f, &self.stmts)
    }
}
