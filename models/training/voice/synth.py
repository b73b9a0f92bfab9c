#!/usr/bin/env python3
"""Synthesize the speech model's training audio from the brain's text generator.

Commands come from `models/training/datagen.py` (the board's tools, the same
phrasings the brain learns), turned into their spoken form by `spoken.py`
(typos off: a synthesizer would read a typo aloud). Each utterance is read by a
voice drawn at random from the training voices, with its rate, pitch and word
gap drawn too:

- espeak-ng: every English voice (`espeak-ng --voices=en`, MBROLA ones only
  when the mbrola binary is present) crossed with every variant (`!v`);
- flite: `awb` and `rms` only.

Held out for evaluation and never used here: every festival voice and flite's
`kal`, `kal16` and `slt` (`RESERVED` below; `pick_voice` refuses them).

Output: `<out>/shard-NNNN.npz` (int16 16 kHz mono arrays, concatenated, with
offsets) and `<out>/index.jsonl` (one line per utterance: shard, index,
text, spoken form, voice, settings). Noise, reverberation and microphone
colouring are applied later, at training time, so every epoch hears a new
mix. Seeded: the same arguments give the same texts, voices and settings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from spoken import spoken  # noqa: E402

RESERVED = {"flite:kal", "flite:kal16", "flite:slt"}  # and every festival voice
FLITE_TRAIN = ["awb", "rms"]
RATE = 16000


def espeak_voices() -> list[str]:
    out = subprocess.run(["espeak-ng", "--voices=en"], capture_output=True, text=True, check=True).stdout
    voices = []
    have_mbrola = shutil.which("mbrola") is not None
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 5:
            continue
        lang, file = cols[1], cols[4]
        if file.startswith("mb/") and not have_mbrola:
            continue
        if lang.startswith("en"):
            voices.append(file.split("/")[-1] if file.startswith("mb/") else lang)
    return sorted(set(voices))


def espeak_variants() -> list[str]:
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and cols[4].startswith("!v/"):
            names.append(cols[4][3:])
    return sorted(set(names))


def pick_voice(rng: random.Random, voices: list[str], variants: list[str], flite_share: float) -> dict:
    if rng.random() < flite_share:
        v = {"engine": "flite", "voice": rng.choice(FLITE_TRAIN), "stretch": round(rng.uniform(0.8, 1.25), 3),
             "f0": rng.randint(80, 170)}
        name = f"flite:{v['voice']}"
    else:
        base = rng.choice(voices)
        var = rng.choice(variants) if variants and rng.random() < 0.85 else None
        v = {"engine": "espeak-ng", "voice": base + (f"+{var}" if var else ""), "wpm": rng.randint(120, 210),
             "pitch": rng.randint(20, 80), "gap": rng.choice([0, 0, 0, 1, 2])}
        name = f"espeak-ng:{v['voice']}"
    if name in RESERVED or name.startswith("festival:"):
        raise ValueError(f"{name} is reserved for evaluation")
    v["name"] = name
    return v


def _read_wav(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {w.getsampwidth() * 8}-bit audio from the synthesizer")
        rate, ch = w.getframerate(), w.getnchannels()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32)
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    if rate != RATE:
        # Band-limited polyphase resampling; synthesizers write 16 or 22.05 kHz.
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(RATE, rate)
        x = resample_poly(x, RATE // g, rate // g).astype(np.float32)
    return x


def synth_one(job: tuple[str, dict]) -> np.ndarray:
    text, v = job
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "u.wav")
        if v["engine"] == "flite":
            cmd = ["flite", "-voice", v["voice"], "-t", text, "-o", out, "--setf", f"duration_stretch={v['stretch']}",
                   "--setf", f"int_f0_target_mean={v['f0']}"]
        else:
            cmd = ["espeak-ng", "-v", v["voice"], "-s", str(v["wpm"]), "-p", str(v["pitch"]), "-g", str(v["gap"]),
                   "-w", out, text]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        x = _read_wav(out)
    peak = float(np.abs(x).max()) if x.size else 0.0
    if peak > 0:
        x = x * (0.9 * 32767 / peak)
    return np.clip(x, -32768, 32767).astype(np.int16)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", required=True, help="datagen JSONL (utterance field), typo rate 0 recommended")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=None, help="first N texts only")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--shard", type=int, default=2000, help="utterances per shard")
    ap.add_argument("--flite-share", type=float, default=0.35, help="share of utterances read by flite awb/rms")
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    voices, variants = espeak_voices(), espeak_variants()
    if not voices:
        sys.exit("espeak-ng has no English voice")
    texts = []
    with open(a.texts, encoding="utf-8") as f:
        for line in f:
            u = json.loads(line)["utterance"]
            s = spoken(u)
            if s:
                texts.append((u, s))
            if a.n is not None and len(texts) >= a.n:
                break
    jobs = [(s, pick_voice(rng, voices, variants, a.flite_share)) for _, s in texts]
    outdir = Path(a.out)
    outdir.mkdir(parents=True, exist_ok=True)
    index = open(outdir / "index.jsonl", "w", encoding="utf-8")
    total_s = 0.0
    with ProcessPoolExecutor(a.jobs) as pool:
        for start in range(0, len(jobs), a.shard):
            part = jobs[start:start + a.shard]
            audio = list(pool.map(synth_one, part, chunksize=8))
            lens = np.array([len(x) for x in audio], dtype=np.int64)
            offs = np.concatenate([[0], np.cumsum(lens)])
            sid = start // a.shard
            # Written aside then renamed, and indexed after: a trainer following
            # the folder (`train.py --follow`) never reads half a shard.
            tmp = outdir / f"shard-{sid:04d}.partial.npz"
            np.savez(tmp, audio=np.concatenate(audio), offsets=offs)
            os.replace(tmp, outdir / f"shard-{sid:04d}.npz")
            for i, ((u, s), (_, v)) in enumerate(zip(texts[start:start + a.shard], part)):
                index.write(json.dumps({"shard": sid, "i": i, "text": u, "spoken": s, "voice": v,
                                        "seconds": round(lens[i] / RATE, 3)}) + "\n")
            index.flush()
            total_s += lens.sum() / RATE
            print(f"synth: {start + len(part)}/{len(jobs)} utterances, {total_s / 3600:.2f} h", file=sys.stderr)
    index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
