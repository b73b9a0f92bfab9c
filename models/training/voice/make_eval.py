#!/usr/bin/env python3
"""Build a voice evaluation set from held-out voices (never for training).

Reads brain-format records (datagen JSONL or an eval JSONL with `utterance`,
`status`, `steps`), has each utterance read by one of the EVALUATION voices
(festival voices via `text2wave`, flite `kal`, `kal16`, `slt`), optionally
adds noise to a share of them, and writes `<out>/cases.jsonl` in the format
of ../shared/eval/voice-dev (the record plus `wav`, `voice`,
`noise_snr_db`, `tempo`) with 16-bit 16 kHz WAV files beside it, ready for
`robot eval voice <out>/cases.jsonl`.

These voices are reserved for evaluation (issue 6): `synth.py` refuses them,
and `train.py` never reads this folder.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from synth import _read_wav  # noqa: E402

RATE = 16000


def festival_voices() -> list[str]:
    if shutil.which("text2wave") is None:
        return []
    out = subprocess.run(["festival", "--batch", "(print (voice.list))"], capture_output=True, text=True).stdout
    return [f"festival:{v}" for v in out.strip().strip("()").split() if v]


def flite_eval_voices() -> list[str]:
    if shutil.which("flite") is None:
        return []
    out = subprocess.run(["flite", "-lv"], capture_output=True, text=True).stdout
    have = out.split(":", 1)[-1].split()
    return [f"flite:{v}" for v in ("kal", "kal16", "slt") if v in have]


def read_aloud(voice: str, text: str) -> np.ndarray:
    engine, name = voice.split(":", 1)
    with tempfile.TemporaryDirectory() as d:
        out = str(Path(d) / "u.wav")
        if engine == "festival":
            txt = Path(d) / "u.txt"
            txt.write_text(text + "\n")
            subprocess.run(["text2wave", "-eval", f"(voice_{name})", "-o", out, str(txt)], check=True,
                           capture_output=True, timeout=120)
        else:
            subprocess.run(["flite", "-voice", name, "-t", text, "-o", out], check=True, capture_output=True, timeout=120)
        return _read_wav(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--noisy-share", type=float, default=0.33)
    a = ap.parse_args(argv)
    voices = festival_voices() + flite_eval_voices()
    if not voices:
        sys.exit("no evaluation voice: apt-get install festival flite")
    rng = random.Random(a.seed)
    nrng = np.random.default_rng(a.seed)
    recs = [json.loads(line) for line in open(a.records, encoding="utf-8")][: a.n]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "cases.jsonl", "w", encoding="utf-8") as f:
        for k, r in enumerate(recs):
            voice = voices[k % len(voices)]
            x = read_aloud(voice, r["utterance"])
            x = x / (np.abs(x).max() + 1e-9) * 0.7 * 32767
            snr = None
            if rng.random() < a.noisy_share:
                snr = rng.choice([10, 15, 20])
                sig = np.sqrt(np.mean(x ** 2))
                noise = nrng.standard_normal(len(x)) * sig / 10 ** (snr / 20)
                x = x + noise
            pcm = np.clip(x, -32768, 32767).astype(np.int16)
            name = f"case-{k:04d}.wav"
            with wave.open(str(out / name), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(RATE)
                w.writeframes(pcm.tobytes())
            case = {"id": f"case-{k:04d}", "utterance": r["utterance"], "tag": r.get("tag", ""), "status": r["status"],
                    "steps": r.get("steps", []), "wav": name, "voice": voice, "noise_snr_db": snr, "tempo": 1.0}
            f.write(json.dumps(case) + "\n")
    print(f"make_eval: {len(recs)} cases with voices {', '.join(voices)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
