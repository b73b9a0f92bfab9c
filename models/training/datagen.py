#!/usr/bin/env python3
"""Training-data generator for the brain (English command -> tool program).

The generator is driven by a board file: tool names, argument names, types,
enums and limits come from the board's `[[tools]]` registry, and places from
its `[[places]]`. How people *say* each tool comes from a per-board templates
file (models/training/templates/<robot>.toml); a board tool without templates
still gets generic phrasings built from its registry entry, and a templated
tool the board lacks turns into an "unsupported" request. Every record follows
the evaluation format and the language conventions of the rover spec
(../shared/spec/rover-tools.md): base units, left positive, repetition unrolled,
"before X, do Y" reordered, names lower case without articles.

Records are produced from a seeded `random.Random`, so the same board,
templates, seed and options give a byte-identical file. Standard library only,
so CI (and a robot-less laptop) can run it.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The evaluation sets live beside the checkout; their utterances are held out.
DEFAULT_HELDOUT = [REPO.parent / "shared" / "eval" / "plan-dev.jsonl"]

# Slot renders are wrapped in these so augmentation never touches numbers,
# names or spoken text (the model must copy those verbatim).
P_OPEN, P_CLOSE = "\x01", "\x02"


# ----------------------------------------------------------------- registry


@dataclass
class Arg:
    name: str
    type: str
    required: bool = True
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    values: list[str] = field(default_factory=list)
    max_len: int | None = None


@dataclass
class Tool:
    name: str
    args: dict[str, Arg]
    risk: str = "observe"
    examples: list[str] = field(default_factory=list)
    description: str = ""


@dataclass
class Board:
    name: str
    tools: dict[str, Tool]
    places: list[tuple[str, list[str]]]


def load_board(path: str | Path) -> Board:
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    tools: dict[str, Tool] = {}
    for t in raw.get("tools", []):
        args = {}
        for a in t.get("args", []):
            args[a["name"]] = Arg(
                name=a["name"],
                type=a["type"],
                required=a.get("required", True),
                unit=a.get("unit"),
                min=a.get("min"),
                max=a.get("max"),
                values=list(a.get("values", [])),
                max_len=a.get("max_len"),
            )
        tools[t["name"]] = Tool(
            name=t["name"],
            args=args,
            risk=t.get("risk", "observe"),
            examples=list(t.get("examples", [])),
            description=t.get("description", ""),
        )
    places = [(p["name"].lower(), [a.lower() for a in p.get("aliases", [])]) for p in raw.get("places", [])]
    return Board(name=raw.get("board", {}).get("name", "board"), tools=tools, places=places)


def validate_step(board: Board, step: dict) -> str | None:
    """Why `step` does not fit the board's registry, or None when it does."""
    tool = board.tools.get(step.get("tool"))
    if tool is None:
        return f"unknown tool {step.get('tool')!r}"
    args = step.get("args", {})
    for name, value in args.items():
        spec = tool.args.get(name)
        if spec is None:
            return f"{tool.name}: unknown arg {name}"
        if spec.type == "number":
            if not isinstance(value, float):
                return f"{tool.name}.{name}: not a float: {value!r}"
            if spec.min is not None and value < spec.min or spec.max is not None and value > spec.max:
                return f"{tool.name}.{name}: {value} out of range"
        elif spec.type == "enum":
            if value not in spec.values:
                return f"{tool.name}.{name}: {value!r} not in enum"
        else:
            if not isinstance(value, str) or not value.strip():
                return f"{tool.name}.{name}: empty string"
            if spec.max_len is not None and len(value) > spec.max_len:
                return f"{tool.name}.{name}: too long"
    for name, spec in tool.args.items():
        if spec.required and name not in args:
            return f"{tool.name}: missing {name}"
    return None


# ------------------------------------------------------------------ numbers

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
DIGIT_WORDS = ONES[:10]


def int_words(n: int, rng: random.Random) -> str:
    if n < 20:
        return ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        if o == 0:
            return TENS[t]
        return TENS[t] + rng.choice([" ", "-"]) + ONES[o]
    h, rest = divmod(n, 100)
    head = ("a hundred" if rng.random() < 0.5 else "one hundred") if h == 1 else ONES[h] + " hundred"
    if rest == 0:
        return head
    return head + rng.choice([" and ", " "]) + int_words(rest, rng)


def fmt_digits(x: float) -> str:
    s = f"{x:.3f}".rstrip("0").rstrip(".")
    return s


def number_text(x: float, rng: random.Random, words_rate: float = 0.45) -> str:
    """Digits or words for a non-negative number with at most 3 decimals."""
    x = round(x, 3)
    whole = int(x)
    frac = round(x - whole, 3)
    if rng.random() >= words_rate or whole > 999:
        s = fmt_digits(x)
        if s.startswith("0.") and rng.random() < 0.1:
            s = s[1:]
        return s
    if frac == 0:
        return int_words(whole, rng)
    if frac == 0.5 and whole >= 1 and rng.random() < 0.7:
        return int_words(whole, rng) + " and a half"
    digits = fmt_digits(frac)[2:]
    head = int_words(whole, rng) if (whole or rng.random() < 0.7) else ""
    return (head + " point " + " ".join(DIGIT_WORDS[int(d)] for d in digits)).strip()


def rnum(x: float) -> float:
    return float(round(x, 6))


# -------------------------------------------------------------- quantities
# Each returns (text, value in base units, converted?) for a positive amount.


def _pick_amount(rng: random.Random, ints: tuple[int, int], halves: bool, tenths: tuple[float, float] | None) -> float:
    r = rng.random()
    if tenths and r < 0.25:
        return round(rng.uniform(*tenths), 1)
    if halves and r < 0.45:
        return rng.randint(ints[0], max(ints[0], ints[1] - 1)) + 0.5
    return float(rng.randint(*ints))


def _unit_phrase(amount: float, rng: random.Random, singular: list[str], plural: list[str], article: str, abbrev: list[str]) -> str:
    if amount == 1 and rng.random() < 0.4:
        return f"{article} {rng.choice(singular)}"
    if amount == 0.5 and rng.random() < 0.5:
        return f"half {article} {rng.choice(singular)}"
    if amount % 1 == 0.5 and amount > 1 and rng.random() < 0.2:
        return f"{int_words(int(amount), rng)} {rng.choice(plural)} and a half"
    text = number_text(amount, rng)
    if abbrev and any(c.isdigit() for c in text) and rng.random() < 0.35:
        sep = "" if rng.random() < 0.3 else " "
        return f"{text}{sep}{rng.choice(abbrev)}"
    noun = rng.choice(singular if amount == 1 else plural)
    return f"{text} {noun}"


DIST_UNITS = [
    # weight, singular, plural, article, abbrev, factor, ints, halves, tenths
    (5, ["meter", "metre"], ["meters", "metres"], "a", ["m", "meters"], 1.0, (1, 8), True, (0.1, 4.0)),
    (3, ["centimeter", "centimetre"], ["centimeters", "centimetres"], "a", ["cm"], 0.01, (1, 300), False, None),
    (1, ["millimeter", "millimetre"], ["millimeters", "millimetres"], "a", ["mm"], 0.001, (5, 900), False, None),
    (2, ["foot"], ["feet"], "a", ["ft"], 0.3048, (1, 20), True, None),
    (2, ["inch"], ["inches"], "an", [], 0.0254, (1, 48), False, None),
    (1, ["yard"], ["yards"], "a", ["yd"], 0.9144, (1, 8), True, None),
]


def q_distance(rng: random.Random) -> tuple[str, float, bool]:
    u = rng.choices(DIST_UNITS, weights=[d[0] for d in DIST_UNITS])[0]
    _, sing, plur, art, abbr, factor, ints, halves, tenths = u
    amount = _pick_amount(rng, ints, halves, tenths)
    if factor < 1 and amount >= 10 and rng.random() < 0.5:
        amount = float(round(amount, -1) or 10)
    text = _unit_phrase(amount, rng, sing, plur, art, abbr)
    return text, rnum(amount * factor), factor != 1.0


def q_angle(rng: random.Random) -> tuple[str, float, bool]:
    r = rng.random()
    if r < 0.5:
        a = float(rng.choice([10, 15, 20, 30, 45, 60, 90, 90, 90, 120, 135, 150, 180, 270, 360]))
    else:
        a = float(rng.randint(1, 359))
    text = number_text(a, rng)
    if any(c.isdigit() for c in text) and rng.random() < 0.15:
        unit = rng.choice(["°", " deg", " degs"])
        return text + unit, a, False
    return f"{text} {'degree' if a == 1 else 'degrees'}", a, False


def q_speed(rng: random.Random) -> tuple[str, float, bool]:
    r = rng.random()
    if r < 0.6:
        v = rng.choice([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 1.0])
        text = number_text(v, rng)
        if v == 1.0:
            unit = rng.choice(["meter per second", "metre per second", "m/s", "meter a second"])
        else:
            unit = rng.choice(["meters per second", "metres per second", "m/s", "meters a second"])
        return f"{text} {unit}", rnum(v), False
    if r < 0.8:
        v = float(rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 80, 100]))
        unit = rng.choice(["centimeters per second", "centimetres per second", "cm/s", "cm per second"])
        return f"{number_text(v, rng)} {unit}", rnum(v / 100), True
    v = rng.choice([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    unit = rng.choice(["km/h", "kilometers per hour", "kilometres per hour", "kilometers an hour", "kph"])
    if v == 1.0 and "per" in unit:
        unit = unit.replace("kilometers", "kilometer").replace("kilometres", "kilometre")
    return f"{number_text(v, rng)} {unit}", rnum(v / 3.6), True


def q_duration(rng: random.Random) -> tuple[str, float, bool]:
    r = rng.random()
    if r < 0.12:
        text, v = rng.choice([("a moment", 1), ("a second", 1), ("one moment", 1), ("half a minute", 30), ("a minute", 60), ("a minute and a half", 90), ("a couple of seconds", 2)])
        return text, float(v), v >= 30
    if r < 0.7:
        s = float(rng.choice([1, 2, 3, 4, 5, 5, 10, 10, 15, 20, 30, 45, 60, 90]) if rng.random() < 0.6 else rng.randint(1, 120))
        if rng.random() < 0.04:
            s += 0.5
        text = number_text(s, rng)
        unit = rng.choice(["second" if s == 1 else "seconds"] * 5 + ["secs", "sec", "s"] * (1 if any(c.isdigit() for c in text) else 0))
        return f"{text} {unit}", rnum(s), False
    m = float(rng.choice([1, 2, 3, 5, 10, 15, 20, 30]) if rng.random() < 0.7 else rng.randint(1, 59))
    if rng.random() < 0.15:
        m += 0.5
    text = number_text(m, rng)
    unit = "minute" if m == 1 else rng.choice(["minutes", "minutes", "mins", "min"] if any(c.isdigit() for c in text) else ["minutes"])
    return f"{text} {unit}", rnum(m * 60), True


COUNT_WORDS = {2: ["twice", "two times", "2 times", "2x"], 3: ["three times", "3 times", "thrice"], 4: ["four times", "4 times"], 5: ["five times", "5 times"]}


def q_count(rng: random.Random, n: int) -> str:
    opts = COUNT_WORDS[n]
    return rng.choices(opts, weights=[4, 3, 2, 1][: len(opts)])[0]


# ---------------------------------------------------------------- patterns


class PatternError(ValueError):
    pass


def parse_pattern(text: str):
    """Parse `(a|b)` choices, `[a|b]` optionals and `{slot}` references into a tree."""
    pos = 0

    def seq(stops: str) -> list:
        nonlocal pos
        items: list = []
        buf = ""
        while pos < len(text) and text[pos] not in stops:
            c = text[pos]
            pos += 1
            if c in "([":
                if buf:
                    items.append(buf)
                    buf = ""
                close = ")" if c == "(" else "]"
                options = [seq("|" + close)]
                while pos < len(text) and text[pos] == "|":
                    pos += 1
                    options.append(seq("|" + close))
                if pos >= len(text) or text[pos] != close:
                    raise PatternError(f"unclosed group in {text!r}")
                pos += 1
                items.append(("choice" if c == "(" else "opt", options))
            elif c == "{":
                end = text.find("}", pos)
                if end < 0:
                    raise PatternError(f"unclosed slot in {text!r}")
                if buf:
                    items.append(buf)
                    buf = ""
                items.append(("slot", text[pos:end]))
                pos = end + 1
            elif c in ")]|":
                raise PatternError(f"stray {c!r} in {text!r}")
            else:
                buf += c
        if buf:
            items.append(buf)
        return items

    return seq("")


# ------------------------------------------------------------------ engine


@dataclass
class Phrase:
    """A rendered clause: text (with protected spans), its steps and facts."""

    text: str
    steps: list[dict]
    converted: bool = False
    imperative: bool = True
    # Ends with free text to speak: a "please" after it would read as part of it.
    open_end: bool = False


@dataclass
class Form:
    tool: str | None
    patterns: list[str]
    args: dict
    steps: list[dict] | None = None
    weight: float = 1.0
    question: bool = False
    optional: bool = True
    exclude: dict = field(default_factory=dict)


class Generator:
    def __init__(self, board: Board, templates: dict, seed: int, rates: dict | None = None):
        self.board = board
        self.t = templates
        self.rng = random.Random(seed)
        self.rates = dict(DEFAULT_RATES)
        self.rates.update(templates.get("rates", {}))
        self.rates.update(rates or {})
        self.mix = dict(DEFAULT_MIX)
        self.mix.update(templates.get("mix", {}))
        self.slots = {k: list(v) for k, v in templates.get("slots", {}).items()}
        self.tags = templates.get("tags", {})
        self._parsed: dict[str, object] = {}
        self.enum_slots = {a.name for t in board.tools.values() for a in t.args.values() if a.type == "enum"}
        redirect = templates.get("places", {}).get("redirect", {})
        # Places that mean a tool of their own ("home" -> dock) when that tool exists.
        self.redirect = {p: t for p, t in redirect.items() if t in board.tools}
        self.known_places: list[str] = []
        self.redirect_words: dict[str, str] = {}
        for name, aliases in board.places:
            if name in self.redirect:
                for a in [name, *aliases]:
                    self.redirect_words[a] = self.redirect[name]
            else:
                self.known_places.extend([name, *aliases])
        self.forms: dict[str, list[Form]] = {}
        self.absent_forms: list[Form] = []
        self.optionals: dict[str, dict[str, list[dict]]] = {}
        self._build_forms()
        self.combos = [c for c in self._combo_forms() if all(self._literals_ok(s["tool"], s.get("args", {})) for s in c.steps or [])]
        self.tool_names = sorted(self.forms)
        self.opt_combos = {t: self._optional_subsets(t) for t in self.tool_names}

    # -------------------------------------------------------------- set-up

    def _build_forms(self) -> None:
        tool_tpl = self.t.get("tools", {})
        for name, spec in tool_tpl.items():
            forms = [self._form(name, f) for f in spec.get("forms", [])]
            if name not in self.board.tools:
                self.absent_forms.extend(f for f in forms if f.weight > 0)
                continue
            tool = self.board.tools[name]
            # A form naming an enum value the board lacks asks for something it cannot do.
            self.absent_forms.extend(f for f in forms if not self._literals_ok(name, f.args))
            ok = [f for f in forms if set(f.args) <= set(tool.args) and self._literals_ok(name, f.args)]
            required = {a for a, s in tool.args.items() if s.required}
            covered = [f for f in ok if required <= set(f.args)]
            # The board's own example phrasings of an argument-free tool are
            # complete commands: use them too (with arguments they lack values).
            if covered and not tool.args and tool.examples:
                asks = [e.lower() for e in tool.examples if e.lower().split(" ", 1)[0] in QUESTION_WORDS]
                says = [e.lower() for e in tool.examples if e.lower() not in asks]
                covered += [Form(tool=name, patterns=p, args={}, weight=0.5, question=q) for p, q in ((says, False), (asks, True)) if p]
            if covered:
                self.forms[name] = covered
            opts = {}
            for arg, phrases in spec.get("optional", {}).items():
                if arg in tool.args and not tool.args[arg].required:
                    opts[arg] = phrases
            self.optionals[name] = opts
        for name, tool in self.board.tools.items():
            if name not in self.forms:
                self.forms[name] = self._generic_forms(tool)
                self.optionals.setdefault(name, {})
            for arg, spec in tool.args.items():
                if not spec.required and arg not in self.optionals[name]:
                    self.optionals[name][arg] = self._generic_optional(spec)

    def _form(self, tool: str | None, f: dict) -> Form:
        pats = f["patterns"] if "patterns" in f else [f["pattern"]]
        for p in pats:
            self._parse(p)
        return Form(
            tool=tool,
            patterns=pats,
            args=f.get("args", {}),
            steps=f.get("steps"),
            weight=float(f.get("weight", 1.0)),
            question=bool(f.get("question", False)),
            optional=bool(f.get("optional", True)),
            exclude=f.get("exclude", {}),
        )

    def _literals_ok(self, tool: str, args: dict) -> bool:
        spec = self.board.tools.get(tool)
        if spec is None:
            return False
        for name, v in args.items():
            a = spec.args.get(name)
            if a is not None and a.type == "enum" and isinstance(v, str) and not v.startswith("$") and v not in a.values:
                return False
        return True

    def _combo_forms(self) -> list[Form]:
        return [self._form(None, c) for c in self.t.get("combos", [])]

    def _generic_forms(self, tool: Tool) -> list[Form]:
        """Phrasings for a board tool the templates do not describe."""
        words = tool.name.replace("_", " ")
        req = [a for a in tool.args.values() if a.required]
        if not req:
            pats = [words, f"(please|) {words}", f"(do|run|perform) {words}"]
            pats += [e.lower() for e in tool.examples]
            return [Form(tool=tool.name, patterns=pats, args={})]
        parts, args = [], {}
        for a in req:
            slot = self._generic_slot(tool.name, a)
            parts.append(f"[{a.name.replace('_', ' ')}] {{{slot}}}")
            args[a.name] = f"${slot}"
        body = " ".join(parts)
        pats = [f"{words} {body}", f"(please|could you) {words} {body}"]
        return [Form(tool=tool.name, patterns=pats, args=args)]

    def _generic_slot(self, tool: str, a: Arg) -> str:
        if a.type == "enum":
            key = f"enum:{tool}.{a.name}"
            self.slots[key] = [v for v in a.values]
            return key
        if a.type == "string":
            return "object" if "object" in a.name else "name"
        by_unit = {"m": "distance", "deg": "angle", "m/s": "speed", "s": "duration"}
        if a.unit in by_unit:
            return by_unit[a.unit]
        key = f"number:{a.min if a.min is not None else 0}:{a.max if a.max is not None else 100}"
        return key

    def _generic_optional(self, a: Arg) -> list[dict]:
        slot = self._generic_slot("", a)
        return [{"patterns": [f"with {a.name.replace('_', ' ')} {{{slot}}}"], "value": f"${slot}"}]

    def _optional_subsets(self, tool: str) -> list[tuple[str, ...]]:
        names = sorted(self.optionals.get(tool, {}))
        subsets: list[tuple[str, ...]] = [()]
        for n in names:
            subsets += [s + (n,) for s in subsets]
        return subsets

    def _parse(self, p: str):
        if p not in self._parsed:
            self._parsed[p] = parse_pattern(p)
        return self._parsed[p]

    # ----------------------------------------------------------- rendering

    def render(self, pattern: str, env: dict, exclude: dict | None = None) -> str:
        out: list[str] = []
        self._emit(self._parse(pattern), env, out, exclude or {})
        text = "".join(out)
        text = re.sub(r"\s+", " ", text).strip()
        text = re.sub(r" ([,.!?])(?!\d)", r"\1", text)
        return text

    def _emit(self, node, env: dict, out: list[str], exclude: dict) -> None:
        rng = self.rng
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, list):
            for n in node:
                self._emit(n, env, out, exclude)
        elif node[0] == "choice":
            self._emit(rng.choice(node[1]), env, out, exclude)
        elif node[0] == "opt":
            if rng.random() < 0.5:
                self._emit(rng.choice(node[1]), env, out, exclude)
        elif node[0] == "slot":
            out.append(self._slot(node[1], env, exclude))

    def _slot(self, name: str, env: dict, exclude: dict) -> str:
        if name == "?":
            return env.get("?", ("", None))[0]
        if name in env and isinstance(env[name], tuple):
            return env[name][0]
        base = name.rstrip("0123456789")
        rng = self.rng
        if base == "madeup":
            return self._made_up_word()
        if base in self.slots and not base.startswith("enum"):
            # Plain phrase lists: variety, not values.
            choice = rng.choice(self.slots[base])
            return self.render(choice, env, exclude)
        text, value, conv = self._value_slot(base, name, env, exclude)
        rendered = f"{P_OPEN}{text}{P_CLOSE}"
        env[name] = (rendered, value)
        if conv:
            env["__converted"] = True
        return rendered

    def _value_slot(self, base: str, name: str, env: dict, exclude: dict) -> tuple[str, object, bool]:
        rng = self.rng
        if base == "distance":
            return q_distance(rng)
        if base == "angle":
            return q_angle(rng)
        if base == "speed":
            return q_speed(rng)
        if base == "duration":
            return q_duration(rng)
        if base == "place":
            return self._place(env)
        if base == "object":
            return self._object()
        if base == "name":
            return self._new_name()
        if base == "text":
            return self._say_text()
        if base.startswith("number:"):
            _, lo, hi = base.split(":")
            v = float(rng.randint(int(float(lo)), int(float(hi))))
            return number_text(v, rng), v, False
        if base.startswith("enum:") or base in self.enum_slots or base in self.t.get("enum_words", {}):
            values = self._enum_values(base)
            bad = set(exclude.get(name, []))
            used = {v[1] for k, v in env.items() if isinstance(v, tuple) and k.rstrip("0123456789") == base}
            pool = [v for v in values if v not in bad and v not in used] or [v for v in values if v not in bad]
            value = rng.choice(pool)
            words = self.t.get("enum_words", {}).get(base, {}).get(value, [value])
            return rng.choice(words), value, False
        raise PatternError(f"unknown slot {{{name}}}")


    def _enum_values(self, base: str) -> list[str]:
        if base.startswith("enum:"):
            return self.slots[base]
        for tool in self.board.tools.values():
            a = tool.args.get(base)
            if a is not None and a.type == "enum":
                return a.values
        # An enum of a tool this board lacks (only rendered as an unsupported request).
        words = self.t.get("enum_words", {}).get(base)
        if words:
            return sorted(words)
        raise PatternError(f"no enum {base}")

    # ------------------------------------------------------------- names

    def _article(self, choices=("the", "the", "the", "", "my", "that")) -> str:
        a = self.rng.choice(choices)
        return a + " " if a else ""

    def _novel(self, adj_key: str, noun_key: str) -> str:
        rng = self.rng
        nouns = self.slots.get(noun_key, ["thing"])
        adjs = self.slots.get(adj_key, [])
        r = rng.random()
        if r < 0.06:
            noun = self._made_up_word()
        else:
            noun = rng.choice(nouns)
        if adjs and r < 0.75:
            return f"{rng.choice(adjs)} {noun}"
        return noun

    def _made_up_word(self) -> str:
        rng = self.rng
        syl = ["ka", "lo", "mi", "zu", "ber", "tan", "vo", "rin", "pel", "do", "quo", "sha", "ti", "gra", "nox", "fen"]
        return "".join(rng.choice(syl) for _ in range(rng.randint(2, 3)))

    def _place(self, env: dict) -> tuple[str, str, bool]:
        rng = self.rng
        used = {v[1] for k, v in env.items() if isinstance(v, tuple) and k.startswith("place")}
        for _ in range(10):
            if self.known_places and rng.random() < 0.55:
                name = rng.choice(self.known_places)
            else:
                name = self._novel("place_adj", "place_noun")
            if name not in used and name not in self.redirect_words:
                break
        art = self._article(("the", "the", "the", "the", "", "my", "our"))
        return f"{art}{name}", name, False

    def _object(self) -> tuple[str, str, bool]:
        name = self._novel("object_adj", "object_noun")
        art = self._article(("the", "the", "the", "", "my", "a", "that", "your"))
        return f"{art}{name}", name, False

    def _new_name(self) -> tuple[str, str, bool]:
        rng = self.rng
        if self.known_places and rng.random() < 0.2:
            name = rng.choice(self.known_places)
        else:
            name = self._novel("place_adj", "place_noun")
        art = self._article(("the", "the", "", "", "my"))
        return f"{art}{name}", name, False

    def _say_text(self) -> tuple[str, str, bool]:
        rng = self.rng
        r = rng.random()
        if r < 0.6:
            text = rng.choice(self.slots.get("say_text", ["hello"]))
        elif r < 0.9:
            text = f"{rng.choice(self.slots.get('say_start', ['hello']))} {rng.choice(self.slots.get('say_end', ['there']))}"
        else:
            words = self.slots.get("say_words", ["hello"])
            text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
        return text, text, False

    # ------------------------------------------------------------- clauses

    def _resolve(self, expr, env: dict):
        if isinstance(expr, str) and expr.startswith(("$", "-$")):
            neg = expr.startswith("-")
            key = expr.lstrip("-$")
            if key not in env:
                raise PatternError(f"arg refers to unset slot {key}")
            v = env[key][1]
            if isinstance(v, float):
                return rnum(-v if neg else v)
            return v
        if isinstance(expr, (int, float)) and not isinstance(expr, bool):
            return float(expr)
        return expr

    def tool_clause(self, tool: str, opt_args: tuple[str, ...] | None = None, allow_question: bool = True) -> Phrase:
        rng = self.rng
        forms = [f for f in self.forms[tool] if allow_question or not f.question] or self.forms[tool]
        form = rng.choices(forms, weights=[f.weight for f in forms])[0]
        if opt_args is None:
            opt_args = rng.choice(self.opt_combos[tool])
        if not form.optional:
            opt_args = ()
        env: dict = {}
        pattern = rng.choice(form.patterns)
        args: dict = {}
        before, marker, after = [], [], []
        for arg in opt_args:
            phrase = rng.choice(self.optionals[tool][arg])
            ptext = self.render(rng.choice(phrase["patterns"]), env)
            args[arg] = self._resolve(phrase["value"], env)
            where = rng.choice(phrase.get("positions", ["end", "end", "start"]))
            if "{?}" in pattern and rng.random() < 0.5:
                where = "marker"
            {"start": before, "marker": marker}.get(where, after).append(ptext)
        env["?"] = (" ".join(marker), None)
        text = " ".join(before + [self.render(pattern, env, form.exclude)] + after)
        args.update({k: self._resolve(v, env) for k, v in form.args.items()})
        order = self.board.tools[tool].args
        ordered = {a: args[a] for a in order if a in args}
        open_end = "text" in env and text.endswith(env["text"][0])
        return Phrase(text=text, steps=[{"tool": tool, "args": ordered}], converted=bool(env.get("__converted")), imperative=not form.question, open_end=open_end)

    def combo_clause(self, with_count: bool | None = None) -> Phrase:
        rng = self.rng
        form = rng.choices(self.combos, weights=[c.weight for c in self.combos])[0]
        env: dict = {}
        n = 1
        pattern = rng.choice(form.patterns)
        if "{count}" in pattern:
            n = rng.choice([2, 2, 3, 3, 4]) if (with_count is None or with_count) else 1
            if n == 1:
                pattern = pattern.replace("{count}", "")
            else:
                env["count"] = (f"{P_OPEN}{q_count(rng, n)}{P_CLOSE}", n)
        text = self.render(pattern, env, form.exclude)
        steps = []
        for s in form.steps or []:
            args = {k: self._resolve(v, env) for k, v in s.get("args", {}).items()}
            order = self.board.tools[s["tool"]].args
            steps.append({"tool": s["tool"], "args": {a: args[a] for a in order if a in args}})
        return Phrase(text=text, steps=steps * n, converted=bool(env.get("__converted")))

    # ------------------------------------------------------------- records

    def pick_tool(self, repeatable: bool = False) -> str:
        w = self.t.get("tool_weights", {})
        names = self.tool_names
        if repeatable:
            # Repeating "go to the kitchen" five times is no command anyone gives.
            names = [t for t in names if t in self.t.get("repeatable_tools", names)] or names
        return self.rng.choices(names, weights=[float(w.get(t, 1.0)) for t in names])[0]

    def tag_for(self, tool: str) -> str:
        return self.tags.get(tool, self.board.tools[tool].risk)

    def record(self, unsupported: bool | None = None) -> dict:
        rng = self.rng
        if unsupported is None:
            unsupported = rng.random() < self.rates["unsupported"]
        if unsupported:
            return self.unsupported()
        kinds = list(self.mix)
        kind = rng.choices(kinds, weights=[self.mix[k] for k in kinds])[0]
        if kind == "combo" and not self.combos:
            kind = "single"
        if kind == "single":
            tool = self.pick_tool()
            ph = self.tool_clause(tool)
            tag = self.tag_for(tool)
            if ph.converted and tag in ("drive", "turn", "time", "speed") and rng.random() < 0.7:
                tag = "units"
            return self.finish(ph, tag, mind=True)
        if kind == "repeat":
            return self.repeat()
        if kind == "combo":
            ph = self.combo_clause()
            return self.finish(ph, "repeat" if is_repetition(ph.steps) else "sequence")
        if kind == "reorder":
            return self.reorder()
        return self.sequence()

    def _clauses(self, n: int, repeatable: bool = False) -> list[Phrase]:
        out = []
        while len(out) < n:
            if self.combos and not repeatable and self.rng.random() < 0.08 and len(out) < n - 1:
                out.append(self.combo_clause(with_count=False))
            else:
                out.append(self.tool_clause(self.pick_tool(repeatable), allow_question=False))
        return out

    def sequence(self) -> dict:
        rng = self.rng
        n = rng.choices([2, 3, 4, 5], weights=[50, 32, 12, 6])[0]
        parts = self._clauses(n)
        texts = [p.text for p in parts]
        c = self.t.get("connectors", {})
        style = rng.random()
        if n >= 3 and style < 0.15:
            mids = [rng.choice(c.get("middle", ["then"])) + " " + t for t in texts[1:-1]]
            text = f"{rng.choice(c.get('first', ['first']))} {texts[0]}, " + ", ".join(mids) + f", {rng.choice(c.get('finally', ['finally']))} {texts[-1]}"
            return self.finish(Phrase(text=text, steps=[s for p in parts for s in p.steps], open_end=parts[-1].open_end), "sequence", prefix=False)
        elif n >= 3 and style < 0.35:
            text = ", ".join(texts[:-1]) + rng.choice([" and ", ", and ", ", then ", " and then ", ", "]) + texts[-1]
        else:
            text = texts[0]
            for t in texts[1:]:
                text += rng.choice(c.get("pair", [" and ", " then "])) + t
        steps = [s for p in parts for s in p.steps]
        return self.finish(Phrase(text=text, steps=steps, open_end=parts[-1].open_end), "sequence")

    def reorder(self) -> dict:
        rng = self.rng
        a, b = self._clauses(2)
        c = self.t.get("connectors", {})
        if rng.random() < 0.75:
            pat = rng.choice(c.get("before", ["before you {b}, {a}"]))
            steps = a.steps + b.steps
        else:
            pat = rng.choice(c.get("after", ["after you {a}, {b}"]))
            steps = a.steps + b.steps
        text = self.render(pat, {"a": (a.text, None), "b": (b.text, None)})
        open_end = (a.open_end and text.endswith(a.text)) or (b.open_end and text.endswith(b.text))
        return self.finish(Phrase(text=text, steps=steps, open_end=open_end), "sequence", prefix=not text.startswith(("before", "after", "once", "wait")))

    def repeat(self) -> dict:
        rng = self.rng
        c = self.t.get("connectors", {})
        r = rng.random()
        if r < 0.55:
            tool = self.pick_tool(repeatable=True)
            ph = self.tool_clause(tool, allow_question=False)
            n = rng.choice([2, 2, 3, 3, 4, 5])
            pat = rng.choice(c.get("repeat_one", ["{a} {count}"]))
            text = self.render(pat, {"a": (ph.text, None), "count": (P_OPEN + q_count(rng, n) + P_CLOSE, n)})
            return self.finish(Phrase(text=text, steps=ph.steps * n), "repeat", prefix=not text.startswith(("repeat", "do this")))
        if r < 0.8 and self.combos:
            ph = self.combo_clause(with_count=True)
            return self.finish(ph, "repeat" if is_repetition(ph.steps) else "sequence")
        parts = self._clauses(2, repeatable=True)
        n = rng.choice([2, 2, 3])
        pat = rng.choice(c.get("repeat_many", ["repeat {count}: {a} and {b}"]))
        text = self.render(pat, {"a": (parts[0].text, None), "b": (parts[1].text, None), "count": (P_OPEN + q_count(rng, n) + P_CLOSE, n)})
        return self.finish(Phrase(text=text, steps=(parts[0].steps + parts[1].steps) * n), "repeat", prefix=False)

    def unsupported(self) -> dict:
        rng = self.rng
        cats = dict(self.t.get("unsupported", {}))
        weights = {k: float(v.get("weight", 1.0)) for k, v in cats.items()}
        if self.absent_forms:
            weights["__absent"] = float(self.t.get("unsupported_absent_weight", 2.0))
        if self.forms:
            weights["__mixed"] = float(self.t.get("unsupported_mixed_weight", 0.6))
        keys = list(weights)
        key = rng.choices(keys, weights=[weights[k] for k in keys])[0]
        imperative = True
        if key == "__absent":
            form = rng.choices(self.absent_forms, weights=[f.weight for f in self.absent_forms])[0]
            text = self.render(rng.choice(form.patterns), {}, form.exclude)
            imperative = not form.question
        elif key == "__mixed":
            ok = self.tool_clause(self.pick_tool(), allow_question=False).text
            bad = self.render(rng.choice(cats[rng.choice([k for k in cats if cats[k].get("mixable", False)] or list(cats))]["patterns"]), {})
            first = rng.random() < 0.5
            joiner = rng.choice([" and ", " then ", " and then ", ", then "])
            text = ok + joiner + bad if first else bad + joiner + ok
        else:
            text = self.render(rng.choice(cats[key]["patterns"]), {})
            imperative = bool(cats[key].get("imperative", False))
        return self.finish(Phrase(text=text, steps=[], imperative=imperative), "unsupported", status="unsupported")

    # --------------------------------------------------------- augmentation

    def finish(self, ph: Phrase, tag: str, status: str = "ok", mind: bool = False, prefix: bool = True) -> dict:
        text = augment(ph.text, self.rng, self.rates, self.t.get("augment", {}), ph.imperative, mind, prefix, suffix=not ph.open_end)
        return {"utterance": text, "status": status, "steps": ph.steps, "tag": tag}


def is_repetition(steps: list[dict]) -> bool:
    """Whether the steps are one shorter block said several times (a square, "twice")."""
    n = len(steps)
    return any(n % p == 0 and steps == steps[:p] * (n // p) for p in range(1, n // 2 + 1))


DEFAULT_RATES = {
    "unsupported": 0.15,
    "polite": 0.25,
    "filler": 0.08,
    "address": 0.06,
    "caps": 0.15,
    "punct": 0.25,
    "typo": 0.06,
    "asr": 0.15,
}
DEFAULT_MIX = {"single": 0.50, "sequence": 0.26, "repeat": 0.10, "combo": 0.08, "reorder": 0.06}

QUESTION_WORDS = {"what", "what's", "where", "how", "which", "who", "is", "are", "do", "can", "could", "will", "would"}

DOUBLING = {"stop", "put", "set", "spin", "grab", "get", "snap", "drop", "step", "jog", "hop", "shut", "cut", "run", "sit", "skip", "dim", "tap", "plan", "scan", "swap", "flip", "pop", "trim", "nab"}


def gerund(verb: str) -> str:
    if verb in DOUBLING:
        return verb + verb[-1] + "ing"
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    return verb + "ing"


def _segments(text: str) -> list[tuple[str, bool]]:
    segs: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{P_OPEN}{P_CLOSE}]", text)):
        if part:
            segs.append((part, i % 2 == 1))
    return segs


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randint(1, len(word) - 2)
    kind = rng.random()
    if kind < 0.35:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind < 0.7:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def augment(text: str, rng: random.Random, rates: dict, cfg: dict, imperative: bool, mind: bool = False, prefix: bool = True, suffix: bool = True) -> str:
    """Politeness, fillers, typos, casing, punctuation and ASR style; protected spans stay intact."""
    polite_pre = cfg.get("polite_prefix", ["please"])
    polite_suf = cfg.get("polite_suffix", ["please"])
    fillers = cfg.get("fillers", ["um"])
    address = cfg.get("address", ["robot,"])
    if imperative and rng.random() < rates["polite"]:
        r = rng.random()
        first = text.split(" ", 1)[0]
        if mind and r < 0.15 and first in cfg.get("mind_verbs", []):
            text = f"{rng.choice(cfg.get('polite_mind', ['would you mind']))} {gerund(first)}{text[len(first):]}"
        elif r < 0.75 or not suffix:
            text = f"{rng.choice(polite_pre) if prefix else 'please'} {text}"
        else:
            text = f"{text} {rng.choice(polite_suf)}"
    if rng.random() < rates["address"]:
        text = f"{rng.choice(address)} {text}"
    if rng.random() < rates["filler"]:
        f = rng.choice(fillers)
        if rng.random() < 0.7:
            text = f"{f} {text}"
        else:
            words = text.split(" ")
            # Insert between two unprotected words only.
            spots = []
            depth = 0
            for i, w in enumerate(words[:-1]):
                depth += w.count(P_OPEN) - w.count(P_CLOSE)
                if depth == 0 and i > 0:
                    spots.append(i + 1)
            if spots:
                k = rng.choice(spots)
                words.insert(k, f.rstrip(","))
                text = " ".join(words)
            else:
                text = f"{f} {text}"
    if rng.random() < rates["typo"]:
        segs = _segments(text)
        n = 1 if rng.random() < 0.75 else 2
        for _ in range(n):
            cand = [i for i, (s, prot) in enumerate(segs) if not prot and re.search(r"[a-z]{4,}", s)]
            if not cand:
                break
            i = rng.choice(cand)
            s = segs[i][0]
            words = s.split(" ")
            wi = [j for j, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
            if not wi:
                break
            j = rng.choice(wi)
            words[j] = _typo(words[j], rng)
            segs[i] = (" ".join(words), False)
        text = "".join(f"{P_OPEN}{s}{P_CLOSE}" if p else s for s, p in segs)
    asr = rng.random() < rates["asr"]
    if asr:
        segs = _segments(text)
        out = []
        for s, prot in segs:
            if prot:
                out.append(s.replace('"', ""))
            else:
                out.append(re.sub(r"[,.!?;:\"]", "", s).lower())
        text = "".join(out)
    else:
        if rng.random() < rates["punct"]:
            end = "?" if text.split(" ", 1)[0].lower() in QUESTION_WORDS else rng.choice([".", ".", "!"])
            text = text.rstrip(",") + end
        r = rng.random()
        if r < rates["caps"]:
            text = text[:1].upper() + text[1:]
            if rng.random() < 0.08:
                text = text.upper()
        elif r < rates["caps"] * 1.2:
            text = " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
    text = text.replace(P_OPEN, "").replace(P_CLOSE, "")
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r" ([,.!?])(?!\d)", r"\1", text)
    text = re.sub(r",+", ",", text)
    # "a orange light" -> "an orange light" (not "a one", "a u-turn").
    text = re.sub(r"\b([Aa]) (?=(?!one\b)[aeioAEIO])", r"\1n ", text)
    return text


# ------------------------------------------------------------------ driver


def normalize(text: str) -> str:
    """Lower case, punctuation to spaces, whitespace collapsed (for leakage checks)."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def load_heldout(paths: list[Path]) -> set[str]:
    out = set()
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    out.add(normalize(json.loads(line)["utterance"]))
    return out


def generate(board: Board, templates: dict, seed: int, n: int, heldout: set[str] | None = None, rates: dict | None = None, max_copies: int = 3) -> list[dict]:
    gen = Generator(board, templates, seed, rates)
    heldout = heldout or set()
    seen: dict[str, int] = {}
    out: list[dict] = []
    tries = 0
    unsupported = False
    fresh = True
    while len(out) < n:
        tries += 1
        if tries > n * 50 + 1000:
            raise RuntimeError("generator cannot find enough distinct records; add templates or lower --n")
        # Decide the status once per output record, so that redraws of
        # duplicates keep the unsupported share at its rate.
        if fresh:
            unsupported = gen.rng.random() < gen.rates["unsupported"]
            fresh = False
        rec = gen.record(unsupported)
        key = normalize(rec["utterance"])
        if not key or key in heldout or seen.get(key, 0) >= max_copies:
            continue
        for s in rec["steps"]:
            why = validate_step(board, s)
            if why:
                # Out-of-range draws (e.g. a square too big) are redrawn, not clipped.
                break
        else:
            if len(rec["steps"]) > templates.get("max_steps", 20):
                continue
            seen[key] = seen.get(key, 0) + 1
            out.append(rec)
            fresh = True
    return out


def load_templates(path: str | Path) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", required=True, help="board TOML file (the tool registry)")
    ap.add_argument("--templates", required=True, help="phrasing templates TOML for this robot")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=50000, help="number of records")
    ap.add_argument("--out", required=True, help="output JSONL path ('-' for stdout)")
    ap.add_argument("--exclude", action="append", default=None, help="JSONL eval set whose utterances must not appear (repeatable; default: ../shared/eval/plan-dev.jsonl when present; 'none' disables)")
    ap.add_argument("--max-copies", type=int, default=3, help="most records sharing one normalized utterance")
    for k, v in DEFAULT_RATES.items():
        ap.add_argument(f"--rate-{k}", type=float, default=None, help=f"rate of {k} (default {v}, or the templates' [rates])")
    a = ap.parse_args(argv)
    board = load_board(a.board)
    templates = load_templates(a.templates)
    if a.exclude is None:
        excl = [p for p in DEFAULT_HELDOUT if p.exists()]
    else:
        excl = [Path(p) for p in a.exclude if p != "none"]
    rates = {k: getattr(a, f"rate_{k}") for k in DEFAULT_RATES if getattr(a, f"rate_{k}") is not None}
    records = generate(board, templates, a.seed, a.n, load_heldout(excl), rates, a.max_copies)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if a.out == "-":
        sys.stdout.write(lines)
    else:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        with open(a.out, "w", encoding="utf-8", newline="\n") as f:
            f.write(lines)
    print(f"datagen: {len(records)} records for board {board.name} (seed {a.seed}; held out: {', '.join(map(str, excl)) or 'none'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
