//! Checking a program against a registry: tool names, argument names,
//! types, units' limits and enum values, before anything runs.

use super::registry::ToolRegistry;
use super::spec::ArgType;
use crate::program::{Call, Program, Value};

/// What is wrong with one call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationErrorKind {
    #[error("unknown tool `{tool}`{hint}")]
    UnknownTool { tool: String, hint: String },
    #[error("`{tool}` has no argument `{arg}` (it takes: {expected})")]
    UnknownArg { tool: String, arg: String, expected: String },
    #[error("`{tool}` needs argument `{arg}`")]
    MissingArg { tool: String, arg: String },
    #[error("`{tool}` argument `{arg}` is given twice")]
    DuplicateArg { tool: String, arg: String },
    #[error("`{tool}` argument `{arg}` must be {expected}, got {got}")]
    WrongType { tool: String, arg: String, expected: String, got: String },
    #[error("`{tool}` argument `{arg}` = {value}{unit} is out of range [{min}, {max}]{unit}")]
    OutOfRange { tool: String, arg: String, value: f64, min: f64, max: f64, unit: String },
    #[error("`{tool}` argument `{arg}` must be one of {allowed}, got `{got}`")]
    NotInEnum { tool: String, arg: String, allowed: String, got: String },
    #[error("`{tool}` argument `{arg}` is longer than {max_len} characters")]
    TooLong { tool: String, arg: String, max_len: usize },
    #[error("the program unrolls to more than {0} steps")]
    TooManySteps(usize),
    #[error("the program is empty")]
    Empty,
}

/// A validation error with the index of the offending call (in tree order,
/// loop bodies counted once), or `None` for whole-program errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
#[error("{}{kind}", call_index.map(|i| format!("call {}: ", i + 1)).unwrap_or_default())]
pub struct ValidationError {
    pub call_index: Option<usize>,
    pub kind: ValidationErrorKind,
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn fmt_num(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl ToolRegistry {
    /// Check one call.
    pub fn validate_call(&self, call: &Call) -> Result<(), ValidationErrorKind> {
        let tool = &call.tool;
        let Some(spec) = self.get(tool) else {
            let best = self.names().map(|n| (edit_distance(n, tool), n)).min();
            let hint = match best {
                // Two edits turn any three-letter word into another (`fly`
                // into `say`), so short names need a closer match.
                Some((d, b)) if d <= 2 && d + 1 < b.chars().count().min(tool.chars().count()) => {
                    format!(" (did you mean `{b}`?)")
                }
                _ => String::new(),
            };
            return Err(ValidationErrorKind::UnknownTool { tool: tool.clone(), hint });
        };
        for (i, arg) in call.args.iter().enumerate() {
            if call.args[..i].iter().any(|a| a.name == arg.name) {
                return Err(ValidationErrorKind::DuplicateArg { tool: tool.clone(), arg: arg.name.clone() });
            }
            let Some(aspec) = spec.arg(&arg.name) else {
                let expected = if spec.args.is_empty() {
                    "no arguments".to_string()
                } else {
                    spec.args.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                };
                return Err(ValidationErrorKind::UnknownArg { tool: tool.clone(), arg: arg.name.clone(), expected });
            };
            let wrong = |expected: &str| ValidationErrorKind::WrongType {
                tool: tool.clone(),
                arg: arg.name.clone(),
                expected: expected.to_string(),
                got: match &arg.value {
                    Value::Number(n) => format!("the number {}", fmt_num(*n)),
                    Value::Str(s) => format!("the text \"{s}\""),
                },
            };
            match (&aspec.ty, &arg.value) {
                (ArgType::Number { unit, min, max }, Value::Number(v)) => {
                    let lo = min.unwrap_or(f64::NEG_INFINITY);
                    let hi = max.unwrap_or(f64::INFINITY);
                    if !v.is_finite() || *v < lo || *v > hi {
                        return Err(ValidationErrorKind::OutOfRange {
                            tool: tool.clone(),
                            arg: arg.name.clone(),
                            value: *v,
                            min: lo,
                            max: hi,
                            unit: unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default(),
                        });
                    }
                }
                (ArgType::Number { .. }, Value::Str(_)) => return Err(wrong("a number")),
                (ArgType::String { max_len }, Value::Str(s)) => {
                    if s.chars().count() > *max_len {
                        return Err(ValidationErrorKind::TooLong {
                            tool: tool.clone(),
                            arg: arg.name.clone(),
                            max_len: *max_len,
                        });
                    }
                    if s.trim().is_empty() {
                        return Err(wrong("non-empty text"));
                    }
                }
                (ArgType::String { .. }, Value::Number(_)) => return Err(wrong("text")),
                (ArgType::Enum { values }, Value::Str(s)) => {
                    if !values.iter().any(|v| v.eq_ignore_ascii_case(s.trim())) {
                        return Err(ValidationErrorKind::NotInEnum {
                            tool: tool.clone(),
                            arg: arg.name.clone(),
                            allowed: values.join(", "),
                            got: s.clone(),
                        });
                    }
                }
                (ArgType::Enum { values }, Value::Number(_)) => {
                    return Err(wrong(&format!("one of {}", values.join(", "))))
                }
            }
        }
        for a in spec.args.iter().filter(|a| a.required) {
            if call.get(&a.name).is_none() {
                return Err(ValidationErrorKind::MissingArg { tool: tool.clone(), arg: a.name.clone() });
            }
        }
        Ok(())
    }

    /// Check a whole program: every call, and that it unrolls to a bounded length.
    pub fn validate(&self, program: &Program) -> Result<(), ValidationError> {
        // `repeat(3) {}` has statements but nothing to do: as empty as "".
        if program.calls().is_empty() {
            return Err(ValidationError { call_index: None, kind: ValidationErrorKind::Empty });
        }
        for (i, call) in program.calls().into_iter().enumerate() {
            self.validate_call(call).map_err(|kind| ValidationError { call_index: Some(i), kind })?;
        }
        match program.unrolled() {
            None => Err(ValidationError {
                call_index: None,
                kind: ValidationErrorKind::TooManySteps(crate::program::MAX_UNROLLED_STEPS),
            }),
            // Only a `repeat(0)` built in code gets here: the parser refuses it.
            Some(steps) if steps.is_empty() => {
                Err(ValidationError { call_index: None, kind: ValidationErrorKind::Empty })
            }
            Some(_) => Ok(()),
        }
    }
}
