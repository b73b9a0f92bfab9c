//! The output grammar of FORMAT.md as a state machine over output ids: at
//! every decoding step it says which ids may come next (a bitmask for
//! [`crate::kernels::masked_argmax`]) and, as ids are chosen, it builds the
//! program. Whatever the model scores, only grammatical ids are chosen, and
//! every grammatical sequence is a program that passes the registry's
//! validation: tools, arguments, units, limits, enum values and string
//! lengths all come from the board's [`ToolRegistry`], never from code.
//!
//! ```text
//! program := "<unsupported>" "<eos>" | step+ "<eos>"
//! step    := "tool:NAME" arg*                  (registry order)
//! arg     := "none" (optional only) | "const:V" | ("pos"|"neg") PTR
//!          | "enum:VALUE" | PTR_START PTR_END
//! ```
//!
//! [`Grammar`] is built once per brain; [`GrammarState`] walks one utterance,
//! whose pointer targets ([`Copyable`]) decide which numbers and strings can
//! be copied. A tool is offered only when every required argument has some
//! value this utterance allows, so a step, once begun, can always finish.

use robot_hal::program::{Call, Program, Value};
use robot_hal::tools::{ArgType, ToolRegistry};

use super::utterance::Copyable;
use super::vocab::{Special, Vocab};
use super::BrainError;
use crate::normalize::Unit;

/// Which quantities a number argument accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum UnitFit {
    /// Unitless quantities and those in this unit.
    Only(Unit),
    /// Unitless quantities only (the argument's unit is none of the four).
    Unitless,
}

impl UnitFit {
    /// Board unit names (FORMAT.md) to the normalizer's units.
    fn of(board_unit: Option<&str>) -> UnitFit {
        match board_unit.map(str::trim) {
            Some("m") => UnitFit::Only(Unit::Meters),
            Some("m/s") => UnitFit::Only(Unit::MetersPerSecond),
            Some("deg") => UnitFit::Only(Unit::Degrees),
            Some("s") => UnitFit::Only(Unit::Seconds),
            _ => UnitFit::Unitless,
        }
    }

    fn accepts(self, unit: Option<Unit>) -> bool {
        match (self, unit) {
            (_, None) => true,
            (UnitFit::Only(want), Some(u)) => want == u,
            (UnitFit::Unitless, Some(_)) => false,
        }
    }
}

#[derive(Debug, Clone)]
enum ArgKind {
    Number {
        fit: UnitFit,
        min: f64,
        max: f64,
        consts: Vec<(usize, f64)>,
    },
    /// `(vocab id, value as the registry spells it)`.
    Enum {
        values: Vec<(usize, String)>,
    },
    String {
        max_len: usize,
    },
}

#[derive(Debug, Clone)]
struct ArgRule {
    name: String,
    optional: bool,
    kind: ArgKind,
}

#[derive(Debug, Clone)]
struct ToolRule {
    id: usize,
    name: String,
    args: Vec<ArgRule>,
}

/// The grammar of one brain on one board.
#[derive(Debug, Clone)]
pub struct Grammar {
    v: usize,
    special: Special,
    max_steps: usize,
    tools: Vec<ToolRule>,
    /// Registry tools the vocabulary has no token for (the brain cannot
    /// plan them).
    pub untrained_tools: Vec<String>,
}

impl Grammar {
    /// Builds the grammar for the tools that are both on the board and in
    /// the vocabulary; `max_steps` caps the steps of one plan.
    pub fn new(vocab: &Vocab, registry: &ToolRegistry) -> Grammar {
        let mut tools = Vec::new();
        let mut untrained_tools = Vec::new();
        for spec in registry.tools() {
            let Some(id) = vocab.id(&format!("tool:{}", spec.name)) else {
                untrained_tools.push(spec.name.clone());
                continue;
            };
            let args = spec
                .args
                .iter()
                .map(|a| {
                    let kind = match &a.ty {
                        ArgType::Number { unit, min, max } => {
                            let (min, max) = (min.unwrap_or(f64::NEG_INFINITY), max.unwrap_or(f64::INFINITY));
                            let consts =
                                vocab.constants().iter().copied().filter(|&(_, c)| c >= min && c <= max).collect();
                            ArgKind::Number { fit: UnitFit::of(unit.as_deref()), min, max, consts }
                        }
                        ArgType::Enum { values } => ArgKind::Enum {
                            values: values
                                .iter()
                                .filter_map(|v| vocab.id(&format!("enum:{v}")).map(|id| (id, v.clone())))
                                .collect(),
                        },
                        ArgType::String { max_len } => ArgKind::String { max_len: *max_len },
                    };
                    ArgRule { name: a.name.clone(), optional: !a.required, kind }
                })
                .collect();
            tools.push(ToolRule { id, name: spec.name.clone(), args });
        }
        Grammar { v: vocab.len(), special: vocab.special, max_steps: vocab.max_steps, tools, untrained_tools }
    }

    /// `V`: vocabulary outputs before the pointers.
    pub fn vocab_len(&self) -> usize {
        self.v
    }

    /// Starts a program for one utterance.
    pub fn start<'a>(&'a self, copy: &'a Copyable) -> GrammarState<'a> {
        let tool_ok = self.tools.iter().map(|t| t.args.iter().all(|a| a.optional || self.has_value(a, copy))).collect();
        let mut s = GrammarState {
            g: self,
            copy,
            phase: Phase::Start,
            calls: Vec::new(),
            current: None,
            tool_ok,
            mask: vec![0; (self.v + copy.t).div_ceil(64)],
        };
        s.fill_mask();
        s
    }

    /// Whether this utterance allows some value for the argument.
    fn has_value(&self, a: &ArgRule, copy: &Copyable) -> bool {
        match &a.kind {
            ArgKind::Number { .. } => {
                let mut any = false;
                self.number_options(a, copy, &mut |_| any = true);
                any
            }
            ArgKind::Enum { values } => !values.is_empty(),
            ArgKind::String { max_len } => (0..copy.t).any(|st| string_start_ok(copy, st, *max_len)),
        }
    }

    /// Calls `f` with every id that may begin the argument's value.
    fn number_options(&self, a: &ArgRule, copy: &Copyable, f: &mut dyn FnMut(usize)) {
        let ArgKind::Number { consts, .. } = &a.kind else { return };
        for &(id, _) in consts {
            f(id);
        }
        if copy.quantities.iter().any(|q| number_fits(a, q.value, q.unit)) {
            f(self.special.pos);
        }
        if copy.quantities.iter().any(|q| number_fits(a, -q.value, q.unit)) {
            f(self.special.neg);
        }
    }
}

fn number_fits(a: &ArgRule, value: f64, unit: Option<Unit>) -> bool {
    match &a.kind {
        ArgKind::Number { fit, min, max, .. } => {
            fit.accepts(unit) && value.is_finite() && value >= *min && value <= *max
        }
        _ => false,
    }
}

fn string_start_ok(copy: &Copyable, start: usize, max_len: usize) -> bool {
    copy.spans.get(start).is_some_and(|v| v.iter().any(|s| s.chars <= max_len))
}

/// Where in the grammar a program is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    AfterUnsupported,
    /// In a step of tool `tool` before argument `arg` (== args.len() when
    /// the step is complete and another step or `<eos>` may follow).
    Arg {
        tool: usize,
        arg: usize,
    },
    /// After `pos`/`neg`, waiting for the quantity's pointer.
    NumberPtr {
        tool: usize,
        arg: usize,
        negative: bool,
    },
    /// After a string's start pointer, waiting for its end.
    StringEnd {
        tool: usize,
        arg: usize,
        start: usize,
    },
    Done {
        unsupported: bool,
    },
}

/// What a finished output sequence means.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `<unsupported> <eos>`: no tool fits the request.
    Unsupported,
    /// The planned program (never empty).
    Program(Program),
}

/// One utterance's walk through the grammar.
#[derive(Debug, Clone)]
pub struct GrammarState<'a> {
    g: &'a Grammar,
    copy: &'a Copyable,
    phase: Phase,
    calls: Vec<Call>,
    current: Option<Call>,
    tool_ok: Vec<bool>,
    mask: Vec<u64>,
}

fn set(mask: &mut [u64], id: usize) {
    if let Some(w) = mask.get_mut(id / 64) {
        *w |= 1 << (id % 64);
    }
}

fn is_set(mask: &[u64], id: usize) -> bool {
    mask.get(id / 64).is_some_and(|w| w >> (id % 64) & 1 == 1)
}

impl<'a> GrammarState<'a> {
    /// The ids allowed next, as a bitset over `V + T` outputs (all clear
    /// once the program is done).
    pub fn allowed(&self) -> &[u64] {
        &self.mask
    }

    /// Whether `<eos>` has been consumed.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done { .. })
    }

    /// The result, once done.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.phase {
            Phase::Done { unsupported: true } => Some(Outcome::Unsupported),
            Phase::Done { unsupported: false } => Some(Outcome::Program(Program::from_calls(self.calls.clone()))),
            _ => None,
        }
    }

    /// Takes the chosen id; an id the mask does not allow is refused and
    /// changes nothing.
    pub fn consume(&mut self, id: usize) -> Result<(), BrainError> {
        if !is_set(&self.mask, id) {
            return Err(BrainError::Grammar { id, state: format!("{:?}", self.phase) });
        }
        let g = self.g;
        let sp = g.special;
        let ptr = id.checked_sub(g.v);
        self.phase = match self.phase {
            Phase::Start | Phase::Arg { .. } if id == sp.eos => Phase::Done { unsupported: false },
            Phase::Start if id == sp.unsupported => Phase::AfterUnsupported,
            Phase::AfterUnsupported => Phase::Done { unsupported: true },
            Phase::Start | Phase::Arg { .. } if self.tool_index(id).is_some() => {
                let tool = self.tool_index(id).unwrap_or_default();
                self.current = Some(Call::new(g.tools[tool].name.clone()));
                self.after_arg(tool, 0)
            }
            Phase::Arg { tool, arg } => {
                let rule = &g.tools[tool].args[arg];
                if id == sp.none {
                    self.after_arg(tool, arg + 1)
                } else if id == sp.pos || id == sp.neg {
                    Phase::NumberPtr { tool, arg, negative: id == sp.neg }
                } else if let Some(start) = ptr {
                    Phase::StringEnd { tool, arg, start }
                } else {
                    let value = match &rule.kind {
                        ArgKind::Number { consts, .. } => consts.iter().find(|c| c.0 == id).map(|c| Value::Number(c.1)),
                        ArgKind::Enum { values } => values.iter().find(|v| v.0 == id).map(|v| Value::Str(v.1.clone())),
                        ArgKind::String { .. } => None,
                    };
                    let value = value.ok_or_else(|| BrainError::Grammar { id, state: format!("{:?}", self.phase) })?;
                    self.push_arg(tool, arg, value)
                }
            }
            Phase::NumberPtr { tool, arg, negative } => {
                let q = ptr.and_then(|p| self.copy.quantity_at(p));
                let q = q.ok_or_else(|| BrainError::Grammar { id, state: format!("{:?}", self.phase) })?;
                // `+ 0.0` turns the -0 of "neg 0" into 0.
                let v = if negative { -q.value } else { q.value } + 0.0;
                self.push_arg(tool, arg, Value::Number(v))
            }
            Phase::StringEnd { tool, arg, start } => {
                let s = ptr.and_then(|e| self.copy.span(start, e));
                let s = s.ok_or_else(|| BrainError::Grammar { id, state: format!("{:?}", self.phase) })?;
                let text = s.text.clone();
                self.push_arg(tool, arg, Value::Str(text))
            }
            Phase::Start | Phase::Done { .. } => {
                return Err(BrainError::Grammar { id, state: format!("{:?}", self.phase) })
            }
        };
        self.fill_mask();
        Ok(())
    }

    fn tool_index(&self, id: usize) -> Option<usize> {
        self.g.tools.iter().position(|t| t.id == id)
    }

    fn push_arg(&mut self, tool: usize, arg: usize, value: Value) -> Phase {
        let name = self.g.tools[tool].args[arg].name.clone();
        if let Some(c) = self.current.as_mut() {
            c.args.push(robot_hal::program::Arg { name, value });
        }
        self.after_arg(tool, arg + 1)
    }

    /// The phase before argument `arg`; a finished step joins the program.
    fn after_arg(&mut self, tool: usize, arg: usize) -> Phase {
        if arg >= self.g.tools[tool].args.len() {
            if let Some(c) = self.current.take() {
                self.calls.push(c);
            }
        }
        Phase::Arg { tool, arg }
    }

    fn fill_mask(&mut self) {
        let mut mask = std::mem::take(&mut self.mask);
        mask.fill(0);
        let g = self.g;
        let sp = g.special;
        let v = g.v;
        match self.phase {
            Phase::Start => {
                set(&mut mask, sp.unsupported);
                self.allow_tools(&mut mask);
            }
            Phase::AfterUnsupported => set(&mut mask, sp.eos),
            Phase::Arg { tool, arg } if arg >= g.tools[tool].args.len() => {
                set(&mut mask, sp.eos);
                if self.calls.len() < g.max_steps {
                    self.allow_tools(&mut mask);
                }
            }
            Phase::Arg { tool, arg } => {
                let rule = &g.tools[tool].args[arg];
                if rule.optional {
                    set(&mut mask, sp.none);
                }
                match &rule.kind {
                    ArgKind::Number { .. } => g.number_options(rule, self.copy, &mut |id| set(&mut mask, id)),
                    ArgKind::Enum { values } => values.iter().for_each(|&(id, _)| set(&mut mask, id)),
                    ArgKind::String { max_len } => {
                        for start in 0..self.copy.t {
                            if string_start_ok(self.copy, start, *max_len) {
                                set(&mut mask, v + start);
                            }
                        }
                    }
                }
            }
            Phase::NumberPtr { tool, arg, negative } => {
                let rule = &g.tools[tool].args[arg];
                for q in &self.copy.quantities {
                    let value = if negative { -q.value } else { q.value };
                    if number_fits(rule, value, q.unit) {
                        set(&mut mask, v + q.pos);
                    }
                }
            }
            Phase::StringEnd { tool, arg, start } => {
                if let ArgKind::String { max_len } = g.tools[tool].args[arg].kind {
                    for s in self.copy.spans.get(start).into_iter().flatten() {
                        if s.chars <= max_len {
                            set(&mut mask, v + s.end);
                        }
                    }
                }
            }
            Phase::Done { .. } => {}
        }
        self.mask = mask;
    }

    fn allow_tools(&self, mask: &mut [u64]) {
        for (t, ok) in self.g.tools.iter().zip(&self.tool_ok) {
            if *ok {
                set(mask, t.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{rover_registry, rover_vocab};
    use super::super::utterance::{PtrQuantity, Span};
    use super::*;

    fn ids(mask: &[u64], n: usize) -> Vec<usize> {
        (0..n).filter(|&i| is_set(mask, i)).collect()
    }

    fn copy_with(t: usize, quantities: Vec<PtrQuantity>, spans: &[(usize, usize, &str)]) -> Copyable {
        let mut c = Copyable { t, quantities, spans: vec![Vec::new(); t] };
        for &(s, e, text) in spans {
            c.spans[s].push(Span { end: e, text: text.into(), chars: text.chars().count() });
        }
        c
    }

    #[test]
    fn builds_a_program_from_registry_rules() {
        let vocab = rover_vocab();
        let reg = rover_registry();
        let g = Grammar::new(&vocab, &reg);
        let v = vocab.len();
        // "drive 2 m then go to the kitchen": 2 at position 2, "kitchen" at 7.
        let copy = copy_with(
            9,
            vec![PtrQuantity { pos: 2, value: 2.0, unit: Some(Unit::Meters) }],
            &[(7, 7, "kitchen"), (6, 7, "the kitchen")],
        );
        let mut s = g.start(&copy);
        let allowed = ids(s.allowed(), v + 9);
        assert!(allowed.contains(&vocab.special.unsupported));
        assert!(!allowed.contains(&vocab.special.eos), "a program has at least one step");
        let tok = |t: &str| vocab.id(t).unwrap();
        for id in [tok("tool:drive"), vocab.special.neg, v + 2] {
            s.consume(id).unwrap();
        }
        // speed_mps is optional; 2 m is no speed, so only constants and none.
        let allowed = ids(s.allowed(), v + 9);
        assert!(allowed.contains(&vocab.special.none));
        assert!(!allowed.contains(&vocab.special.pos));
        assert!(!allowed.contains(&tok("const:2")), "2 m/s is above the 1 m/s limit");
        assert!(allowed.contains(&tok("const:0.5")));
        s.consume(vocab.special.none).unwrap();
        for id in [tok("tool:go_to"), v + 6, v + 7, tok("tool:set_led"), tok("enum:red"), vocab.special.eos] {
            s.consume(id).unwrap();
        }
        let Some(Outcome::Program(p)) = s.outcome() else { panic!("{:?}", s.outcome()) };
        assert_eq!(p.to_string(), r#"drive(distance_m=-2); go_to(place="the kitchen"); set_led(color="red")"#);
        reg.validate(&p).unwrap();
        assert!(s.allowed().iter().all(|w| *w == 0));
    }

    #[test]
    fn refuses_what_the_mask_does_not_allow() {
        let vocab = rover_vocab();
        let g = Grammar::new(&vocab, &rover_registry());
        let copy = copy_with(3, vec![], &[]);
        let mut s = g.start(&copy);
        // No string can be copied from this utterance: no go_to, say, find.
        let allowed = ids(s.allowed(), vocab.len() + 3);
        for t in ["tool:go_to", "tool:say", "tool:find", "tool:pick_up", "tool:remember_place"] {
            assert!(!allowed.contains(&vocab.id(t).unwrap()), "{t}");
        }
        // Numbers can still be constants.
        for t in ["tool:stop", "tool:drive", "tool:wait", "tool:set_led"] {
            assert!(allowed.contains(&vocab.id(t).unwrap()), "{t}");
        }
        assert!(matches!(s.consume(vocab.special.eos), Err(BrainError::Grammar { .. })));
        assert!(matches!(s.consume(vocab.len() + 1), Err(BrainError::Grammar { .. })));
        s.consume(vocab.special.unsupported).unwrap();
        assert_eq!(ids(s.allowed(), vocab.len() + 3), [vocab.special.eos]);
        s.consume(vocab.special.eos).unwrap();
        assert_eq!(s.outcome(), Some(Outcome::Unsupported));
    }

    #[test]
    fn caps_steps_and_string_lengths() {
        let vocab = rover_vocab();
        let g = Grammar::new(&vocab, &rover_registry());
        let long = "x".repeat(61);
        let copy = copy_with(5, vec![], &[(1, 1, "ok"), (2, 3, &long)]);
        let mut s = g.start(&copy);
        s.consume(vocab.id("tool:go_to").unwrap()).unwrap();
        // go_to's place is at most 60 characters; say's text may be 200.
        assert_eq!(ids(s.allowed(), vocab.len() + 5), [vocab.len() + 1]);
        s.consume(vocab.len() + 1).unwrap();
        s.consume(vocab.len() + 1).unwrap();
        s.consume(vocab.id("tool:say").unwrap()).unwrap();
        assert_eq!(ids(s.allowed(), vocab.len() + 5), [vocab.len() + 1, vocab.len() + 2]);
        s.consume(vocab.special.eos).unwrap_err();

        let stop = vocab.id("tool:stop").unwrap();
        let mut s = g.start(&copy);
        for _ in 0..vocab.max_steps {
            s.consume(stop).unwrap();
        }
        assert_eq!(ids(s.allowed(), vocab.len() + 5), [vocab.special.eos]);
    }
}
