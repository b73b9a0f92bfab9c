"""Turn generated commands into decoder targets (models/brain/FORMAT.md).

Each record of `datagen.py` (utterance + expected steps) is normalized by the
robot's own normalizer (`robot-normalize`, the Rust code the robot runs),
tokenized with the MiniLM WordPiece tokenizer, and its steps are written as
the output grammar's token sequence: tool tokens, `none` for a left-out
optional argument, `pos`/`neg` + a pointer to a quantity, `const:V`,
`enum:V`, and start/end pointers for copied strings. Records whose arguments
cannot be expressed that way (a string not in the utterance) are counted and
dropped, so the decoder never learns to invent.

The same alignment code serves evaluation of the Python model, and
`reconstruct` mirrors the Rust string rule exactly.
"""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import datagen  # noqa: E402

BASE_TOKENS = ["<pad>", "<bos>", "<eos>", "<unsupported>", "<ptr>", "none", "pos", "neg"]
BOARD_UNIT = {"m": "m", "m/s": "mps", "deg": "deg", "s": "s"}
MAX_SPAN = 24
MAX_INPUT_TOKENS = 96
MAX_STEPS = 40


def load_tokenizer(path: Path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.no_truncation()
    return tok


def normalize_all(utterances: list[str], normalizer: Path) -> list[dict]:
    """Run the robot's normalizer over every utterance in one process."""
    payload = "".join(json.dumps(u) + "\n" for u in utterances)
    out = subprocess.run([str(normalizer)], input=payload, capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    if len(lines) != len(utterances):
        raise RuntimeError(f"normalizer returned {len(lines)} lines for {len(utterances)} utterances")
    return [json.loads(line) for line in lines]


@dataclass
class Encoded:
    text: str
    original: str
    numbers: list[dict]
    ids: list[int]
    offsets: list[tuple[int, int]]
    tokens: list[str]

    def word_start(self, i: int) -> bool:
        return 1 <= i <= len(self.ids) - 2 and not self.tokens[i].startswith("##")

    def word_end(self, i: int) -> bool:
        return 1 <= i <= len(self.ids) - 2 and not self.tokens[i + 1].startswith("##")


def encode(tok, norm: dict, original: str) -> Encoded:
    enc = tok.encode(norm["text"])
    return Encoded(norm["text"], original, norm["numbers"], list(enc.ids), [tuple(o) for o in enc.offsets],
                   list(enc.tokens))


@functools.lru_cache(maxsize=64)
def _byte_to_char(text: str):
    """Quantity spans are byte offsets (Rust); Python slices by characters.
    Cached: `_span` reconstructs many candidate spans of one utterance."""
    table = {}
    b = 0
    for i, ch in enumerate(text):
        table[b] = i
        b += len(ch.encode("utf-8"))
    table[b] = len(text)
    return table


def reconstruct(e: Encoded, start: int, end: int) -> str:
    """The string value of a copied span (FORMAT.md): normalized text with
    each quantity put back in the user's own words."""
    s, t = e.offsets[start][0], e.offsets[end][1]
    nb = _byte_to_char(e.text)
    ob = _byte_to_char(e.original)
    out = []
    pos = s
    for q in e.numbers:
        qs, qe = nb.get(q["span"][0]), nb.get(q["span"][1])
        if qs is None or qe is None or qs < s or qe > t:
            continue
        full_end = qe
        if q["unit"]:
            sym = " " + q["unit"]
            if e.text[qe:qe + len(sym)] == sym and qe + len(sym) <= t:
                full_end = qe + len(sym)
        os_, oe = ob.get(q["source"][0]), ob.get(q["source"][1])
        if os_ is None or oe is None:
            continue
        out.append(e.text[pos:qs])
        out.append(e.original[os_:oe])
        pos = full_end
    out.append(e.text[pos:t])
    text = "".join(out)
    for p in [",", ".", "!", "?"]:
        text = text.replace(" " + p, p)
    return text.strip()


def quantity_positions(e: Encoded) -> list[int | None]:
    """Token index of each quantity's first token (None if not found)."""
    nb = _byte_to_char(e.text)
    starts = {o[0]: i for i, o in enumerate(e.offsets) if 1 <= i <= len(e.ids) - 2}
    return [starts.get(nb.get(q["span"][0], -1)) for q in e.numbers]


def close(a: float, b: float) -> bool:
    return abs(a - b) <= max(1e-6, 1e-6 * abs(b))


def fmt_const(v: float) -> str:
    r = round(v, 6)
    return str(int(r)) if r == int(r) else repr(r)


class Aligner:
    """Writes steps as grammar tokens; collects constants."""

    def __init__(self, board: datagen.Board):
        self.board = board
        self.constants: Counter = Counter()

    def align(self, e: Encoded, rec: dict):
        """Returns (tokens, error). Tokens are strings or ("ptr", index)."""
        if rec["status"] == "unsupported":
            return ["<unsupported>", "<eos>"], None
        qpos = quantity_positions(e)
        used: set[int] = set()
        out: list = []
        for step in rec["steps"]:
            tool = self.board.tools.get(step["tool"])
            if tool is None:
                return None, f"unknown tool {step['tool']}"
            out.append("tool:" + tool.name)
            for name, arg in tool.args.items():
                if name not in step["args"]:
                    if arg.required:
                        return None, f"missing {name}"
                    out.append("none")
                    continue
                v = step["args"][name]
                if arg.type == "enum":
                    out.append("enum:" + str(v))
                elif arg.type == "number":
                    toks = self._number(e, qpos, used, float(v), arg)
                    out.extend(toks)
                elif arg.type == "string":
                    span = self._span(e, str(v))
                    if span is None:
                        return None, f"string {v!r} not in {e.text!r}"
                    out.extend([("ptr", span[0]), ("ptr", span[1])])
                else:
                    return None, f"arg type {arg.type}"
        out.append("<eos>")
        return out, None

    def _number(self, e, qpos, used, v, arg):
        want_unit = BOARD_UNIT.get(arg.unit or "", None)
        cands = []
        for k, q in enumerate(e.numbers):
            if qpos[k] is None:
                continue
            if q["unit"] and want_unit and q["unit"] != want_unit:
                continue
            if close(abs(q["value"]), abs(v)):
                cands.append(k)
        if cands:
            fresh = [k for k in cands if k not in used]
            k = fresh[0] if fresh else cands[0]
            used.add(k)
            q = e.numbers[k]
            sign = "pos" if close(q["value"], v) else "neg"
            return [sign, ("ptr", qpos[k])]
        c = fmt_const(v)
        self.constants[c] += 1
        return ["const:" + c]

    def _span(self, e: Encoded, target: str):
        want = target.strip().lower()
        n = len(e.ids)
        for i in range(1, n - 1):
            if not e.word_start(i):
                continue
            for j in range(i, min(n - 1, i + MAX_SPAN)):
                if not e.word_end(j):
                    continue
                if reconstruct(e, i, j).lower() == want:
                    return i, j
        return None


def build_vocab(board: datagen.Board, constants: Counter) -> list[str]:
    toks = list(BASE_TOKENS)
    toks += ["tool:" + t for t in board.tools]
    enums = []
    for t in board.tools.values():
        for a in t.args.values():
            for v in a.values:
                if "enum:" + v not in enums:
                    enums.append("enum:" + v)
    toks += enums
    toks += ["const:" + c for c, _ in sorted(constants.items(), key=lambda kv: (-kv[1], kv[0]))]
    return toks


def to_ids(seq, vocab_index: dict[str, int], V: int):
    """Target ids and the decoder's (token, copy_pos) inputs for a sequence."""
    ids, inp_tok, inp_copy = [], [vocab_index["<bos>"]], [0]
    for t in seq:
        if isinstance(t, tuple):
            ids.append(V + t[1])
            inp_tok.append(vocab_index["<ptr>"])
            inp_copy.append(t[1])
        else:
            ids.append(vocab_index[t])
            inp_tok.append(vocab_index[t])
            inp_copy.append(0)
    return ids, inp_tok[:-1], inp_copy[:-1]


def prepare(records: list[dict], board: datagen.Board, tok, normalizer: Path, vocab: list[str] | None = None):
    norms = normalize_all([r["utterance"] for r in records], normalizer)
    al = Aligner(board)
    aligned, dropped = [], Counter()
    for rec, norm in zip(records, norms):
        e = encode(tok, norm, rec["utterance"])
        if len(e.ids) > MAX_INPUT_TOKENS:
            dropped["too long"] += 1
            continue
        seq, err = al.align(e, rec)
        if err:
            dropped[err.split(" ")[0]] += 1
            continue
        if sum(1 for t in seq if isinstance(t, str) and t.startswith("tool:")) > MAX_STEPS:
            dropped["too many steps"] += 1
            continue
        aligned.append((rec, e, seq))
    if vocab is None:
        vocab = build_vocab(board, al.constants)
    index = {t: i for i, t in enumerate(vocab)}
    V = len(vocab)
    rows = []
    for rec, e, seq in aligned:
        if any(isinstance(t, str) and t not in index for t in seq):
            dropped["unknown constant"] += 1
            continue
        tgt, inp, cp = to_ids(seq, index, V)
        rows.append({"input_ids": e.ids, "target": tgt, "dec_tok": inp, "dec_copy": cp, "tag": rec.get("tag", "")})
    return rows, vocab, dropped


def constants_of(vocab: list[str]) -> list[float]:
    return [float(t[6:]) for t in vocab if t.startswith("const:")]


def main():
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", required=True)
    ap.add_argument("--data", required=True, help="datagen JSONL")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--normalizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", help="reuse this vocab.json (for validation data)")
    a = ap.parse_args()
    board = datagen.load_board(a.board)
    records = [json.loads(l) for l in open(a.data)]
    vocab = json.load(open(a.vocab))["tokens"] if a.vocab else None
    rows, vocab, dropped = prepare(records, board, load_tokenizer(Path(a.tokenizer)), Path(a.normalizer), vocab)
    with open(a.out, "w") as f:
        json.dump({"tokens": vocab, "rows": rows}, f)
    print(f"prepare: {len(rows)} rows, {len(vocab)} tokens, dropped {dict(dropped)}", file=sys.stderr)


if __name__ == "__main__":
    main()
