#!/usr/bin/env python3
"""Written command text -> the words a speaker says, for the speech model.

The speech model hears words, never digits or symbols: "reverse 30 cm" is
spoken "reverse thirty centimeters". This module turns the brain's training
utterances (and the evaluation sets' references) into that spoken form, the
same way on both sides, so a transcript can be scored against a reference
written with digits (word error rate over spoken forms) and so the
synthesizer reads exactly the words the model is trained to write.

The alphabet of a spoken form is `a-z`, the apostrophe and single spaces;
`spoken()` guarantees it (anything else is dropped), so the CTC targets never
hold a symbol the model cannot emit. Standard library only.
"""

from __future__ import annotations

import random
import re

ALPHABET = "abcdefghijklmnopqrstuvwxyz' "

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

# Unit abbreviations as people read them aloud (plural; the singular is
# chosen for an amount of exactly one).
_UNITS = {
    "m": ("meter", "meters"), "cm": ("centimeter", "centimeters"), "mm": ("millimeter", "millimeters"),
    "km": ("kilometer", "kilometers"), "ft": ("foot", "feet"), "in": ("inch", "inches"), "yd": ("yard", "yards"),
    "s": ("second", "seconds"), "sec": ("second", "seconds"), "secs": ("seconds", "seconds"),
    "min": ("minute", "minutes"), "mins": ("minutes", "minutes"), "h": ("hour", "hours"),
    "deg": ("degree", "degrees"), "°": ("degree", "degrees"),
    "m/s": ("meter per second", "meters per second"), "cm/s": ("centimeter per second", "centimeters per second"),
    "km/h": ("kilometer per hour", "kilometers per hour"), "mph": ("mile per hour", "miles per hour"),
}


def int_words(n: int, rng: random.Random | None = None) -> str:
    """0 <= n < 1e6 in words; `rng` picks "and" after hundreds sometimes."""
    if n < 0:
        return "minus " + int_words(-n, rng)
    if n < 20:
        return _ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return _TENS[t] + ("" if o == 0 else " " + _ONES[o])
    if n < 1000:
        h, r = divmod(n, 100)
        head = _ONES[h] + " hundred"
        if r == 0:
            return head
        joiner = " and " if rng is not None and rng.random() < 0.5 else " "
        return head + joiner + int_words(r, rng)
    if n < 1_000_000:
        k, r = divmod(n, 1000)
        head = int_words(k, rng) + " thousand"
        return head if r == 0 else head + " " + int_words(r, rng)
    return " ".join(_ONES[int(d)] for d in str(n))


def number_words(text: str, rng: random.Random | None = None) -> str:
    """"12", "0.3", ".5", "3.25" -> words ("point" then digit by digit)."""
    if text.startswith("."):
        text = "0" + text
    whole, _, frac = text.partition(".")
    out = int_words(int(whole), rng) if whole else "zero"
    if frac:
        out += " point " + " ".join(_ONES[int(d)] for d in frac)
    return out


_NUM_UNIT = re.compile(r"^(-?)(\d+(?:\.\d+)?|\.\d+)([a-z°/]+)?$")
_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$")
_TIMES = re.compile(r"^(\d+)x$")


def _ordinal(n: int) -> str:
    special = {1: "first", 2: "second", 3: "third", 5: "fifth", 8: "eighth", 9: "ninth", 12: "twelfth"}
    if n in special:
        return special[n]
    w = int_words(n)
    if w.endswith("y"):
        return w[:-1] + "ieth"
    last = w.split()[-1]
    if n % 10 in special and n > 20:
        return w[: -len(last)] + special[n % 10]
    return w + "th"


def spoken(text: str, rng: random.Random | None = None) -> str:
    """The spoken form of `text`: lower case words over ALPHABET."""
    t = text.lower()
    t = t.replace("’", "'").replace("‘", "'").replace("“", " ").replace("”", " ")
    # Hyphens join words that are said as two ("u-turn", "anti-clockwise"),
    # a dash between numbers is a range nobody says in a command.
    t = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", t)
    t = re.sub(r"[\"!?;:,()\[\]{}]", " ", t)
    t = re.sub(r"(?<![\d])\.(?!\d)", " ", t)  # sentence full stops, not decimals
    t = t.replace("°", " ° ")
    words: list[str] = []
    toks = t.split()
    for i, tok in enumerate(toks):
        tok = tok.strip("'")
        if not tok:
            continue
        if tok in ("°",):
            words.append("degrees")
            continue
        m = _TIMES.match(tok)
        if m:
            words.append(int_words(int(m.group(1)), rng) + " times")
            continue
        m = _ORDINAL.match(tok)
        if m:
            words.append(_ordinal(int(m.group(1))))
            continue
        m = _NUM_UNIT.match(tok)
        if m:
            sign, num, unit = m.groups()
            w = ("minus " if sign else "") + number_words(num, rng)
            if unit:
                sing, plur = _UNITS.get(unit, (unit, unit))
                w += " " + (sing if num in ("1", "1.0") else plur)
            words.append(w)
            continue
        if tok in _UNITS and i > 0 and re.match(r"^[\d.]+$", toks[i - 1]):
            sing, plur = _UNITS[tok]
            words.append(sing if toks[i - 1] in ("1", "1.0") else plur)
            continue
        if tok == "&":
            words.append("and")
            continue
        words.append(tok)
    out = " ".join(words)
    out = "".join(ch if ch in ALPHABET else " " for ch in out)
    return " ".join(out.split())


def _selftest() -> None:
    cases = {
        "reverse 30 cm": "reverse thirty centimeters",
        "go 3.1m in front of you slow, 3 times!": "go three point one meters in front of you slow three times",
        "move at .1 metres per second": "move at zero point one metres per second",
        "do a U-turn": "do a u turn",
        "give me your orientation 2x in a row!": "give me your orientation two times in a row",
        "I'd like you to go back home now": "i'd like you to go back home now",
        "turn 45°": "turn forty five degrees",
        "drive 1 m": "drive one meter",
        "say \"good night\".": "say good night",
        "go at 80 cm per second": "go at eighty centimeters per second",
        "what's the weather": "what's the weather",
        "turn 131 degrees": "turn one hundred thirty one degrees",
    }
    for src, want in cases.items():
        got = spoken(src)
        assert got == want, (src, got, want)
    r = random.Random(1)
    for n in range(0, 100000, 7):
        s = int_words(n, r)
        assert set(s) <= set(ALPHABET), s


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "--selftest":
        _selftest()
        print("ok")
    else:
        for line in sys.stdin:
            print(spoken(line))
