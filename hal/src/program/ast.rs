//! The program syntax tree.
//!
//! A program is a sequence of statements; a statement is a tool call or a
//! `repeat(n) { ... }` block. Arguments keep the order they were written in
//! so the pretty-printer reproduces the operator's program.

use serde::{Deserialize, Serialize};

/// An argument value. Enum words are strings; numbers are f64 in the
/// argument's unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Str(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Str(_) => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Number(_) => None,
        }
    }
}

/// One named argument of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arg {
    pub name: String,
    pub value: Value,
}

/// A tool call: `drive(distance_m=2, speed_mps=0.3)`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Call {
    pub tool: String,
    pub args: Vec<Arg>,
}

impl Call {
    pub fn new(tool: impl Into<String>) -> Self {
        Self { tool: tool.into(), args: Vec::new() }
    }

    pub fn with(mut self, name: impl Into<String>, value: Value) -> Self {
        self.args.push(Arg { name: name.into(), value });
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.args.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    pub fn number(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    pub fn string(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
}

/// A statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Call(Call),
    Repeat { times: u32, body: Vec<Stmt> },
}

/// A whole program.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}

/// Upper bound on unrolled steps, so `repeat(1000000) { ... }` is refused
/// instead of exhausting memory.
pub const MAX_UNROLLED_STEPS: usize = 10_000;

impl Program {
    pub fn is_empty(&self) -> bool {
        self.stmts.is_empty()
    }

    /// A flat program of these calls, e.g. from a JSON step list.
    pub fn from_calls(calls: Vec<Call>) -> Program {
        Program { stmts: calls.into_iter().map(Stmt::Call).collect() }
    }

    /// The calls in execution order with loops unrolled, or `None` if that
    /// would exceed [`MAX_UNROLLED_STEPS`].
    pub fn unrolled(&self) -> Option<Vec<Call>> {
        fn walk(stmts: &[Stmt], out: &mut Vec<Call>) -> bool {
            for s in stmts {
                match s {
                    Stmt::Call(c) => {
                        if out.len() >= MAX_UNROLLED_STEPS {
                            return false;
                        }
                        out.push(c.clone());
                    }
                    Stmt::Repeat { times, body } => {
                        for _ in 0..*times {
                            let before = out.len();
                            if !walk(body, out) {
                                return false;
                            }
                            // A body without calls adds nothing however often
                            // it runs; stopping here keeps nested empty loops
                            // (1000^16 iterations) from hanging.
                            if out.len() == before {
                                break;
                            }
                        }
                    }
                }
            }
            true
        }
        let mut out = Vec::new();
        walk(&self.stmts, &mut out).then_some(out)
    }

    /// Every call in the tree once (loop bodies not repeated), for validation.
    pub fn calls(&self) -> Vec<&Call> {
        fn walk<'a>(stmts: &'a [Stmt], out: &mut Vec<&'a Call>) {
            for s in stmts {
                match s {
                    Stmt::Call(c) => out.push(c),
                    Stmt::Repeat { body, .. } => walk(body, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.stmts, &mut out);
        out
    }
}
