#!/usr/bin/env python3
"""Train the speech model (CTC over characters) on synthesized commands.

Input: one or more `synth.py` folders (shards + index.jsonl). A slice of the
utterances (by text, so no sentence is on both sides) is kept for validation;
validation uses the training voices only (held-out voices are for `robot eval
voice`, never for choosing a checkpoint). Each drawn example is augmented
afresh (`augment.py`), turned into log-mels (`features.py`, the twin of the
robot's Rust frontend) and masked in time and frequency (SpecAugment).

Training runs for a wall-clock budget (`--minutes`), with the learning rate
warmed up and then decayed over the budget, on the CPU (`--threads`) or CUDA
when present. Batches are filled up to `--batch-seconds` of audio from
utterances of similar length. Seeded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import threading
import queue
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from augment import augment  # noqa: E402
from features import log_mel  # noqa: E402
from model import SpeechModel, encode_text, greedy, out_frames  # noqa: E402


def load(dirs: list[str]):
    audio, texts = [], []
    for d in dirs:
        shards = {}
        for line in open(Path(d) / "index.jsonl", encoding="utf-8"):
            r = json.loads(line)
            if r["shard"] not in shards:
                z = np.load(Path(d) / f"shard-{r['shard']:04d}.npz")
                shards = {r["shard"]: (z["audio"], z["offsets"])}
            a, o = shards[r["shard"]]
            audio.append(a[o[r["i"]]:o[r["i"] + 1]])
            texts.append(r["spoken"])
    return audio, texts


def wer(ref: str, hyp: str) -> tuple[int, int]:
    r, h = ref.split(), hyp.split()
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = d[j]
            d[j] = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev = cur
    return d[len(h)], len(r)


def spec_augment(rng: np.random.Generator, f: np.ndarray) -> np.ndarray:
    f = f.copy()
    t = len(f)
    fill = f.mean() if t else 0.0
    for _ in range(2):
        w = int(rng.integers(0, 11))
        s = int(rng.integers(0, 80 - w + 1))
        f[:, s:s + w] = fill
    for _ in range(max(1, t // 150)):
        w = int(rng.integers(0, min(25, max(1, t // 10)) + 1))
        s = int(rng.integers(0, max(1, t - w)))
        f[s:s + w] = fill
    return f


def batches(rng: random.Random, lens: list[int], idx: list[int], seconds: float):
    """Endless lists of indices of similar length, ~`seconds` of audio each."""
    limit = seconds * 16000
    while True:
        order = sorted(idx, key=lambda i: lens[i] + rng.randint(0, 8000))
        groups, cur, longest = [], [], 0
        for i in order:
            longest2 = max(longest, lens[i])
            if cur and longest2 * (len(cur) + 1) > limit:
                groups.append(cur)
                cur, longest2 = [], lens[i]
            cur.append(i)
            longest = longest2
        if cur:
            groups.append(cur)
        rng.shuffle(groups)
        yield from groups


def make_batch(nrng: np.random.Generator, ids, audio, texts, train: bool):
    feats, targets = [], []
    pool = [audio[int(nrng.integers(len(audio)))].astype(np.float32) / 32768 for _ in range(6)] if train else []
    for i in ids:
        x = audio[i].astype(np.float32) / 32768
        if train:
            x = augment(nrng, x, pool)
        f = log_mel(x)
        if train:
            f = spec_augment(nrng, f)
        feats.append(f)
        targets.append(encode_text(texts[i]))
    lengths = torch.tensor([len(f) for f in feats])
    fb = torch.zeros(len(feats), int(lengths.max()), 80)
    for k, f in enumerate(feats):
        fb[k, : len(f)] = torch.from_numpy(f)
    tl = torch.tensor([len(t) for t in targets])
    return fb, lengths, torch.tensor([c for t in targets for c in t]), tl


def evaluate(model, audio, texts, idx, device) -> tuple[float, float]:
    model.eval()
    errs = words = 0
    exact = 0
    with torch.no_grad():
        for i in idx:
            f = torch.from_numpy(log_mel(audio[i].astype(np.float32) / 32768))[None].to(device)
            if f.shape[1] < 8:
                continue
            logp, _ = model(f)
            hyp = greedy(logp[0].cpu())
            e, n = wer(texts[i], hyp)
            errs, words, exact = errs + e, words + n, exact + (hyp == texts[i])
    model.train()
    return errs / max(1, words), exact / max(1, len(idx))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", required=True, help="synth.py output folder (repeatable)")
    ap.add_argument("--out", required=True, help="checkpoint path (.pt)")
    ap.add_argument("--minutes", type=float, default=80.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-seconds", type=float, default=120.0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=800)
    ap.add_argument("--val", type=int, default=300, help="validation utterances")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--d", type=int, default=144)
    ap.add_argument("--init", default=None, help="start from this checkpoint")
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rng, nrng = random.Random(a.seed), np.random.default_rng(a.seed)
    audio, texts = load(a.data)
    by_text = sorted(set(texts))
    random.Random(a.seed + 1).shuffle(by_text)
    val_texts = set(by_text[: a.val])
    val_idx = [i for i, t in enumerate(texts) if t in val_texts][: a.val]
    train_idx = [i for i, t in enumerate(texts) if t not in val_texts and len(audio[i]) >= 4000]
    lens = [len(x) for x in audio]
    print(f"train: {len(train_idx)} utterances ({sum(lens[i] for i in train_idx) / 16000 / 3600:.1f} h), "
          f"val {len(val_idx)}, device {device}", file=sys.stderr)
    model = SpeechModel(d=a.d, layers=a.layers, heads=4, ff=4 * a.d).to(device)
    if a.init:
        model.load_state_dict(torch.load(a.init, map_location=device)["model"])
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M", file=sys.stderr)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    budget = a.minutes * 60
    t0 = time.time()
    # Batches are built on a thread so numpy's FFTs overlap torch's step.
    q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()

    def producer():
        for ids in batches(rng, lens, train_idx, a.batch_seconds):
            if stop.is_set():
                return
            q.put(make_batch(nrng, ids, audio, texts, True))

    threading.Thread(target=producer, daemon=True).start()
    step, last_eval, avg = 0, t0, None
    best = math.inf
    while True:
        el = time.time() - t0
        if el > budget:
            break
        frac = el / budget
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.5 * (1 + math.cos(math.pi * frac)) * 0.95 + 0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        fb, lengths, tg, tl = q.get()
        logp, out_len = model(fb.to(device), lengths.to(device))
        loss = ctc(logp.transpose(0, 1), tg, out_len, tl)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 50 == 0:
            print(f"step {step} {el / 60:.1f} min loss {avg:.3f} lr {lr:.2e}", file=sys.stderr)
        if time.time() - last_eval > max(300, budget / 8) or time.time() - t0 > budget:
            w, ex = evaluate(model, audio, texts, val_idx, device)
            print(f"val wer {w:.4f} exact {ex:.3f} at step {step}", file=sys.stderr)
            last_eval = time.time()
            if w <= best:
                best = w
                torch.save({"model": model.state_dict(), "cfg": model.cfg, "step": step, "val_wer": w}, a.out)
    stop.set()
    w, ex = evaluate(model, audio, texts, val_idx, device)
    print(f"final val wer {w:.4f} exact {ex:.3f} after {step} steps, {(time.time() - t0) / 60:.1f} min", file=sys.stderr)
    if w <= best:
        torch.save({"model": model.state_dict(), "cfg": model.cfg, "step": step, "val_wer": w}, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
