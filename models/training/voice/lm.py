#!/usr/bin/env python3
"""Builds the speech decoder's word language model, models/asr/lm.json.

The robot's CTC decoder (models/src/voice/ctc.rs) fuses a word trigram model
into its beam search at word boundaries, so "close the gripper" beats
"close the griper". This script counts words, word pairs and triples in the spoken
forms (`spoken.spoken`, the words a speaker says: digits become number
words) of the brain's generated training utterances, the same texts the
speech model is trained on (`/tmp/voice/texts.jsonl`, one
{"utterance": ...} per line). Never point it at an evaluation set.

Output format (`robot-asr-lm/1`, read by models/src/voice/lm.rs):

    {"format": "robot-asr-lm/1", "sentences": N,
     "words": ["<s>", "</s>", "a", ...],      # index = word id; 0 and 1 reserved
     "unigrams": [c0, c1, ...],               # count of each word (</s> = sentences)
     "bigrams": [prev, next, count, ...],     # flat triples, sorted, count >= --min-bigram
     "trigrams": [prev2, prev, next, count, ...]}  # flat, sorted, count >= --min-trigram

A sentence is counted as `<s> w1 .. wn </s>` for bigrams and with a second
`<s>` in front for trigrams, as the decoder's history starts.

Smoothing (Witten-Bell interpolation with an add-k unigram floor) is done
by the reader, so this file holds raw counts only. The file is listed in
models/asr/manifest.json (sha256 and size) so the robot can verify it; the
script rewrites that entry. Rerun it after export.py replaces the manifest.
Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spoken import spoken  # noqa: E402

FORMAT = "robot-asr-lm/1"
BOS, EOS = "<s>", "</s>"


def build(texts: list[str], min_bigram: int, seed: int, min_trigram: int = 1) -> dict:
    rng = random.Random(seed)
    uni: collections.Counter[str] = collections.Counter()
    bi: collections.Counter[tuple[str, str]] = collections.Counter()
    tri: collections.Counter[tuple[str, str, str]] = collections.Counter()
    sentences = 0
    for t in texts:
        # Once plainly, once with the seeded variants ("one hundred and five").
        for words in {spoken(t), spoken(t, rng)}:
            w = words.split()
            if not w:
                continue
            sentences += 1
            seq = [BOS] + w + [EOS]
            uni.update(seq[1:])
            bi.update(zip(seq, seq[1:]))
            seq = [BOS] + seq
            tri.update(zip(seq, seq[1:], seq[2:]))
    uni[BOS] = sentences
    words = [BOS, EOS] + sorted(k for k in uni if k not in (BOS, EOS))
    ids = {w: i for i, w in enumerate(words)}
    flat: list[int] = []
    for (a, b), c in sorted(bi.items(), key=lambda kv: (ids[kv[0][0]], ids[kv[0][1]])):
        if c >= min_bigram:
            flat += [ids[a], ids[b], c]
    flat3: list[int] = []
    for (a, b, c), n in sorted(tri.items(), key=lambda kv: tuple(ids[w] for w in kv[0])):
        if n >= min_trigram:
            flat3 += [ids[a], ids[b], ids[c], n]
    return {"format": FORMAT, "sentences": sentences, "words": words,
            "unigrams": [uni[w] for w in words], "bigrams": flat, "trigrams": flat3}


def update_manifest(asr_dir: Path, name: str) -> None:
    path = asr_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    data = (asr_dir / name).read_bytes()
    manifest.setdefault("files", {})[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    path.write_text(json.dumps(manifest, indent=1) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", default="/tmp/voice/texts.jsonl", help="training texts, {\"utterance\"} per line")
    ap.add_argument("--asr-dir", default=str(Path(__file__).resolve().parents[2] / "asr"))
    ap.add_argument("--min-bigram", type=int, default=1, help="drop word pairs seen fewer times")
    ap.add_argument("--min-trigram", type=int, default=1, help="drop word triples seen fewer times")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if "eval" in Path(a.texts).resolve().parts:
        print("refusing to build the LM from an evaluation folder", file=sys.stderr)
        return 2
    texts = []
    for line in Path(a.texts).read_text().splitlines():
        if line.strip():
            texts.append(json.loads(line)["utterance"])
    lm = build(texts, a.min_bigram, a.seed, a.min_trigram)
    out = Path(a.asr_dir) / "lm.json"
    out.write_text(json.dumps(lm, separators=(",", ":")) + "\n")
    update_manifest(Path(a.asr_dir), "lm.json")
    print(f"{out}: {len(lm['words'])} words, {len(lm['bigrams']) // 3} bigrams, {len(lm['trigrams']) // 4} trigrams, "
          f"{lm['sentences']} sentences, {out.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
