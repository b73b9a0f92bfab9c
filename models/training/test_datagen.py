"""Tests of the training-data generator (datagen.py): format, validity against
the board's tool registry, reproducibility, held-out (dev set) leakage, coverage
and the rover spec's language conventions. Standard library only; runs in a few
seconds (`python3 -m unittest discover -s models/training -p 'test_*.py'`)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import datagen  # noqa: E402

BOARD = REPO / "boards" / "sim-rover.toml"
SERIAL_BOARD = REPO / "boards" / "serial-rover.toml"
TEMPLATES = HERE / "templates" / "rover.toml"
N = 3000
SEED = 7

NUMBER_WORDS = set(datagen.ONES) | set(datagen.TENS[2:]) | {"hundred", "half", "point", "quarter", "dozen"}


def dev_set_path() -> Path | None:
    """The held-out dev set: $PLAN_DEV_JSONL, or ../shared/eval beside the checkout."""
    cands = [os.environ.get("PLAN_DEV_JSONL", ""), REPO.parent / "shared" / "eval" / "plan-dev.jsonl", REPO / "eval" / "plan-dev.jsonl"]
    for c in cands:
        if c and Path(c).is_file():
            return Path(c)
    return None


def check_step(board: datagen.Board, step: dict) -> str | None:
    """An independent check of one step against the board file (not datagen.validate_step)."""
    if set(step) != {"tool", "args"} or not isinstance(step["args"], dict):
        return f"bad step shape {step}"
    tool = board.tools.get(step["tool"])
    if tool is None:
        return f"no tool {step['tool']}"
    for name, spec in tool.args.items():
        if spec.required and name not in step["args"]:
            return f"{tool.name} lacks required {name}"
    for name, value in step["args"].items():
        spec = tool.args.get(name)
        if spec is None:
            return f"{tool.name} has no arg {name}"
        if spec.type == "number":
            if type(value) is not float:
                return f"{tool.name}.{name}={value!r} is not a float"
            if spec.min is not None and value < spec.min:
                return f"{tool.name}.{name}={value} < min"
            if spec.max is not None and value > spec.max:
                return f"{tool.name}.{name}={value} > max"
        elif spec.type == "enum":
            if value not in spec.values:
                return f"{tool.name}.{name}={value!r} not in {spec.values}"
        elif spec.type == "string":
            if type(value) is not str or not value.strip():
                return f"{tool.name}.{name} empty"
            if spec.max_len is not None and len(value) > spec.max_len:
                return f"{tool.name}.{name} longer than {spec.max_len}"
        else:
            return f"unknown arg type {spec.type}"
    return None


def single(rec: dict, tool: str) -> bool:
    return rec["status"] == "ok" and len(rec["steps"]) == 1 and rec["steps"][0]["tool"] == tool


class GeneratedData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.board = datagen.load_board(BOARD)
        cls.templates = datagen.load_templates(TEMPLATES)
        dev = dev_set_path()
        cls.dev = datagen.load_heldout([dev]) if dev else set()
        cls.records = datagen.generate(cls.board, cls.templates, SEED, N, cls.dev)
        # Convention checks read keywords, so they use data without typos.
        cls.clean = datagen.generate(cls.board, cls.templates, SEED + 1, N, cls.dev, {"typo": 0.0})
        # Plus many single-step records of the tools with conventions to check.
        gen = datagen.Generator(cls.board, cls.templates, SEED + 2, {"typo": 0.0})
        for tool in ["drive", "turn", "wait", "set_speed", "dock"]:
            for _ in range(400):
                cls.clean.append(gen.finish(gen.tool_clause(tool), tool, mind=True))

    def test_count_and_format(self):
        self.assertEqual(len(self.records), N)
        for r in self.records:
            self.assertEqual(list(r), ["utterance", "status", "steps", "tag"], r)
            self.assertIsInstance(r["utterance"], str)
            self.assertTrue(r["utterance"].strip(), r)
            self.assertIsInstance(r["tag"], str)
            if r["status"] == "ok":
                self.assertTrue(1 <= len(r["steps"]) <= 20, r)
            else:
                self.assertEqual(r["status"], "unsupported", r)
                self.assertEqual(r["steps"], [], r)
                self.assertEqual(r["tag"], "unsupported", r)
            # Whatever the JSON round trip does must leave the record unchanged.
            self.assertEqual(json.loads(json.dumps(r)), r)

    def test_every_step_fits_the_registry(self):
        for r in self.records:
            for s in r["steps"]:
                why = check_step(self.board, s)
                self.assertIsNone(why, f"{why} in {r}")

    def test_no_dev_utterance_leaks(self):
        if not self.dev:
            self.skipTest("dev set not found (set PLAN_DEV_JSONL or keep ../shared/eval beside the checkout)")
        self.assertGreater(len(self.dev), 50)
        leaked = sorted({r["utterance"] for r in self.records if datagen.normalize(r["utterance"]) in self.dev})
        self.assertEqual(leaked, [])

    def test_every_tool_and_optional_combination_appears(self):
        tools = {s["tool"] for r in self.records for s in r["steps"]}
        self.assertEqual(tools, set(self.board.tools))
        for name, tool in self.board.tools.items():
            optional = {a for a, spec in tool.args.items() if not spec.required}
            seen = {frozenset(set(s["args"]) & optional) for r in self.records for s in r["steps"] if s["tool"] == name}
            want = {frozenset()} | {frozenset({o}) for o in optional} | {frozenset(optional)}
            self.assertTrue(want <= seen, f"{name}: optional-argument combinations {want - seen} never generated")
        for name, tool in self.board.tools.items():
            for a in tool.args.values():
                if a.type == "enum":
                    seen = {s["args"].get(a.name) for r in self.records for s in r["steps"] if s["tool"] == name}
                    self.assertTrue(set(a.values) <= seen, f"{name}.{a.name}: {set(a.values) - seen} never generated")

    def test_unsupported_share_and_shapes(self):
        share = sum(r["status"] == "unsupported" for r in self.records) / len(self.records)
        self.assertTrue(0.10 <= share <= 0.20, share)
        lengths = {len(r["steps"]) for r in self.records if r["tag"] == "sequence"}
        self.assertTrue({2, 3, 4, 5} <= lengths, lengths)
        tags = {r["tag"] for r in self.records}
        for t in ["drive", "turn", "sequence", "repeat", "units", "navigation", "objects", "signal", "sensors", "unsupported"]:
            self.assertIn(t, tags)
        distinct = len({datagen.normalize(r["utterance"]) for r in self.records})
        self.assertGreater(distinct, 0.9 * N)

    def test_names_are_copied_lower_case_without_articles(self):
        for r in self.records:
            utt = datagen.normalize(r["utterance"])
            for s in r["steps"]:
                for name, v in s["args"].items():
                    if isinstance(v, str) and self.board.tools[s["tool"]].args[name].type == "string":
                        self.assertEqual(v, v.lower(), r)
                        if name != "text":  # spoken words may well start with "the"
                            self.assertFalse(re.match(r"(the|a|an|my|your|our|that) ", v), r)
                        self.assertIn(datagen.normalize(v), utt, r)

    def test_turn_signs_and_fixed_angles(self):
        checked = 0
        for r in self.clean:
            if not single(r, "turn"):
                continue
            words = set(datagen.normalize(r["utterance"]).split())
            angle = r["steps"][0]["args"]["angle_deg"]
            utt = datagen.normalize(r["utterance"])
            has_number = bool(re.search(r"\d", utt)) or bool(words & NUMBER_WORDS)
            if not has_number and re.search(r"\b(turn|rotate|pivot|swivel|spin) (to the |to your )?right\b", utt) and not words & {"slightly", "little", "bit", "quarter", "face"}:
                self.assertEqual(angle, -90.0, r)
                checked += 1
            if not has_number and re.search(r"\b(turn|rotate|pivot|swivel|spin) (to the |to your )?left\b", utt) and not words & {"slightly", "little", "bit", "quarter", "face"}:
                self.assertEqual(angle, 90.0, r)
            fixed = re.search(r"\b(around|u ?turn|about face|half|full|360|180|circle)\b", utt)
            if fixed:
                pass
            elif "right" in words and not words & {"left", "counterclockwise", "anticlockwise", "counter", "anti", "now"}:
                self.assertLess(angle, 0, r)
            elif "left" in words and not words & {"right", "clockwise"}:
                self.assertGreater(angle, 0, r)
            if re.search(r"\b(turn around|u turn|about face|half turn)\b", utt):
                self.assertEqual(angle, 180.0, r)
            if re.search(r"\b(spin around|full turn|full circle)\b", utt) and not re.search(r"\d", utt):
                self.assertEqual(abs(angle), 360.0, r)
        self.assertGreater(checked, 0, "no plain 'turn right' record to check")

    def test_drive_directions_speeds_and_units(self):
        unit = {"cm": 0.01, "centimeters": 0.01, "centimetres": 0.01, "mm": 0.001, "feet": 0.3048, "ft": 0.3048, "inches": 0.0254, "yards": 0.9144, "yd": 0.9144}
        converted = 0
        for r in self.clean:
            if not single(r, "drive"):
                continue
            # "go ahead and ..." is politeness, not a direction.
            utt = datagen.normalize(r["utterance"]).replace("go ahead and", "")
            words = set(utt.split())
            args = r["steps"][0]["args"]
            if words & {"back", "backward", "backwards", "reverse"}:
                self.assertLess(args["distance_m"], 0, r)
            elif words & {"forward", "forwards", "ahead"}:
                self.assertGreater(args["distance_m"], 0, r)
            if "slowly" in words:
                self.assertEqual(args.get("speed_mps"), 0.1, r)
            if words & {"quickly", "fast"}:
                self.assertEqual(args.get("speed_mps"), 0.5, r)
            if words & {"little", "bit", "slightly"} and not re.search(r"\d", utt):
                self.assertEqual(abs(args["distance_m"]), 0.2, r)
            raw = r["utterance"].lower()
            m = re.search(r"(\d*\.?\d+) ?(cm|centimeters|centimetres|mm|feet|ft|inches|yards|yd)\b", raw)
            if m and "speed_mps" not in args:
                self.assertAlmostEqual(abs(args["distance_m"]), float(m.group(1)) * unit[m.group(2)], places=5, msg=r)
                converted += 1
        self.assertGreater(converted, 10)

    def test_time_and_speed_units(self):
        for r in self.clean:
            utt = r["utterance"].lower()
            if single(r, "wait"):
                secs = r["steps"][0]["args"]["seconds"]
                m = re.search(r"(\d*\.?\d+) ?(minutes|mins|min)\b", utt)
                if m:
                    self.assertAlmostEqual(secs, float(m.group(1)) * 60, places=5, msg=r)
                if "half a minute" in utt:
                    self.assertEqual(secs, 30.0, r)
                if "a moment" in utt:
                    self.assertEqual(secs, 1.0, r)
            if single(r, "set_speed"):
                v = r["steps"][0]["args"]["speed_mps"]
                m = re.search(r"(\d*\.?\d+) ?(km/h|kph|kilomet)", utt)
                if m:
                    self.assertAlmostEqual(v, round(float(m.group(1)) / 3.6, 6), places=5, msg=r)
                if re.fullmatch(r"\W*(slow down)\W*", utt):
                    self.assertEqual(v, 0.1)

    def test_dock_words_mean_dock(self):
        seen = 0
        for r in self.clean:
            if r["status"] != "ok" or len(r["steps"]) != 1:
                continue
            utt = datagen.normalize(r["utterance"])
            if re.fullmatch(r"(please )?(go|head|return) (home|to the charger|to your base|to the dock)( please)?", utt):
                self.assertEqual(r["steps"][0]["tool"], "dock", r)
                seen += 1
            if r["steps"][0]["tool"] == "go_to":
                self.assertNotIn(r["steps"][0]["args"]["place"], {"home", "dock", "charger", "base"}, r)
        self.assertGreater(seen, 0)

    def test_repetition_and_square_are_unrolled(self):
        squares = 0
        for r in self.clean:
            utt = datagen.normalize(r["utterance"])
            if r["status"] == "ok" and "square" in utt and len(r["steps"]) == 8:
                squares += 1
                for i, s in enumerate(r["steps"]):
                    if i % 2:
                        self.assertEqual(s, {"tool": "turn", "args": {"angle_deg": 90.0}}, r)
                    else:
                        self.assertEqual(s["tool"], "drive", r)
                        self.assertEqual(s["args"], r["steps"][0]["args"], r)
            if r["tag"] == "repeat" and re.search(r"\b(three times|3 times|thrice)\b", utt):
                self.assertEqual(len(r["steps"]) % 3, 0, r)
                k = len(r["steps"]) // 3
                self.assertEqual(r["steps"][:k] * 3, r["steps"], r)
        self.assertGreater(squares, 0)


class Reproducibility(unittest.TestCase):
    def test_same_seed_same_bytes_other_seed_other_data(self):
        with tempfile.TemporaryDirectory() as d:
            outs = []
            for i, seed in enumerate([3, 3, 4]):
                out = Path(d) / f"{i}.jsonl"
                with contextlib.redirect_stderr(io.StringIO()):
                    rc = datagen.main(["--board", str(BOARD), "--templates", str(TEMPLATES), "--seed", str(seed), "--n", "800", "--out", str(out), "--exclude", "none"])
                self.assertEqual(rc, 0)
                outs.append(out.read_bytes())
            self.assertEqual(outs[0], outs[1])
            self.assertNotEqual(outs[0], outs[2])
            self.assertEqual(outs[0].count(b"\n"), 800)

    def test_heldout_utterances_are_filtered(self):
        board = datagen.load_board(BOARD)
        tpl = datagen.load_templates(TEMPLATES)
        plain = datagen.generate(board, tpl, 11, 1500)
        common = [datagen.normalize(r["utterance"]) for r in plain[:200]]
        held = set(common)
        filtered = datagen.generate(board, tpl, 11, 1500, held)
        self.assertFalse({datagen.normalize(r["utterance"]) for r in filtered} & held)


class BoardDriven(unittest.TestCase):
    """The board, not the templates, decides which tools and values exist."""

    def test_serial_rover_has_no_absent_tools_and_refuses_them(self):
        board = datagen.load_board(SERIAL_BOARD)
        tpl = datagen.load_templates(TEMPLATES)
        absent = set(datagen.load_board(BOARD).tools) - set(board.tools)
        self.assertTrue(absent, "serial rover should lack some sim tools")
        recs = datagen.generate(board, tpl, 5, 2000)
        for r in recs:
            for s in r["steps"]:
                self.assertIsNone(check_step(board, s), r)
        refused = [r for r in recs if r["status"] == "unsupported" and re.match(r"(say|find|look for|pick up|go to) ", datagen.normalize(r["utterance"]))]
        self.assertTrue(refused, "requests for the absent tools should appear as unsupported")

    def test_other_board_gets_generic_phrasings(self):
        board_toml = """
[board]
name = "arm"
backend = "sim"
robot_id = "arm-1"
[[tools]]
name = "move_joint"
risk = "motion"
args = [{ name = "joint", type = "enum", values = ["base", "elbow", "wrist"] }, { name = "angle_deg", type = "number", unit = "deg", min = -180.0, max = 180.0 }]
[[tools]]
name = "home_pose"
risk = "motion"
examples = ["return to the home pose"]
[[tools]]
name = "label_tray"
risk = "configure"
args = [{ name = "label", type = "string", max_len = 30 }, { name = "slot", type = "number", min = 1.0, max = 12.0, required = false }]
"""
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "arm.toml"
            p.write_text(board_toml)
            board = datagen.load_board(p)
        recs = datagen.generate(board, datagen.load_templates(TEMPLATES), 1, 600)
        tools = {s["tool"] for r in recs for s in r["steps"]}
        self.assertEqual(tools, {"move_joint", "home_pose", "label_tray"})
        for r in recs:
            for s in r["steps"]:
                self.assertIsNone(check_step(board, s), r)
        self.assertTrue(any("slot" in s["args"] for r in recs for s in r["steps"]))
        self.assertTrue(any("slot" not in s["args"] for r in recs for s in r["steps"] if s["tool"] == "label_tray"))


class Engine(unittest.TestCase):
    """Pattern and ordering rules, checked on a tiny hand-made template set."""

    def setUp(self):
        self.board = datagen.load_board(BOARD)
        self.tpl = {
            "tools": {
                "stop": {"forms": [{"patterns": ["halt"]}]},
                "say": {"forms": [{"patterns": ["say {text}"], "args": {"text": "$text"}}]},
            },
            "slots": {"say_text": ["beep"]},
            "connectors": {"before": ["before you {b}, {a}"], "after": ["after you {a}, {b}"]},
            "mix": {"single": 0, "sequence": 0, "repeat": 0, "combo": 0, "reorder": 1},
            "rates": {k: 0.0 for k in datagen.DEFAULT_RATES},
            "tool_weights": {t: (1.0 if t in ("stop", "say") else 0.0) for t in self.board.tools},
        }

    def test_before_puts_the_second_clause_first(self):
        gen = datagen.Generator(self.board, self.tpl, 1)
        seen = 0
        for _ in range(200):
            r = gen.record()
            m = re.fullmatch(r"before you (halt|say beep), (halt|say beep)", r["utterance"])
            if m is None:
                continue
            seen += 1
            first = "stop" if m.group(2) == "halt" else "say"
            second = "stop" if m.group(1) == "halt" else "say"
            self.assertEqual([s["tool"] for s in r["steps"]], [first, second], r)
        self.assertGreater(seen, 20)

    def test_patterns_parse_and_reject_bad_syntax(self):
        tree = datagen.parse_pattern("(a|b [c]) {x}")
        self.assertEqual(tree[0][0], "choice")
        for bad in ["(a|b", "[a", "{x", "a)"]:
            with self.assertRaises(datagen.PatternError):
                datagen.parse_pattern(bad)

    def test_number_words(self):
        import random

        rng = random.Random(0)
        self.assertEqual(datagen.int_words(7, rng), "seven")
        self.assertIn(datagen.int_words(25, rng), {"twenty five", "twenty-five"})
        self.assertIn(datagen.int_words(100, rng), {"a hundred", "one hundred"})
        texts = {datagen.number_text(2.5, rng, words_rate=1.0) for _ in range(50)}
        self.assertTrue(texts <= {"two and a half", "two point five"}, texts)

    def test_typos_never_touch_protected_spans(self):
        import random

        rng = random.Random(0)
        rates = dict(datagen.DEFAULT_RATES, typo=1.0, polite=0.0, filler=0.0, address=0.0, caps=0.0, punct=0.0, asr=0.0)
        text = f"drive forward {datagen.P_OPEN}twenty five centimeters{datagen.P_CLOSE} please"
        for _ in range(100):
            out = datagen.augment(text, rng, rates, {}, True)
            self.assertIn("twenty five centimeters", out)


if __name__ == "__main__":
    unittest.main()
