#!/usr/bin/env python3
"""Train the speech model (CTC over characters) on synthesized commands.

Input: one `synth.py` folder (shards + index.jsonl). With `--follow` the
trainer starts as soon as the first shards exist and picks up new ones while
`synth.py` is still writing (so synthesis on the CPUs and training on an
accelerator overlap). Sentences whose CRC32 falls in the first 1% are kept
for validation and never trained on (by text, so no sentence is on both
sides); validation uses the training voices only: held-out voices are for
`robot eval voice`, never for choosing a checkpoint.

Each step draws utterances of similar length up to `--batch-seconds` of
audio, re-mixes them (`augment.py`), computes log-mels with the torch twin of
the robot's frontend (`features.py`), warps the frequency axis (VTLP) and
masks time and frequency (SpecAugment), all batched on the training device:
CUDA when present (bf16 autocast), else the CPU (`--threads`). The learning
rate warms up and then follows a cosine over the wall-clock budget
(`--minutes`). Seeded. The checkpoint keeps the best validation WER, with
weights stored as float16 (the exporter quantizes them to int8 anyway).

    # 2-core CPU (the recipe CI-class machines can run):
    python3 train.py --data /tmp/voice/train --out asr.pt --minutes 85 --threads 2
    # one GPU, overlapping synthesis (see MODEL_CARD.md in models/asr):
    python3 train.py --data /tmp/train --follow --out asr.pt --minutes 8 --batch-seconds 1600
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from augment import augment_batch  # noqa: E402
from features import log_mel_torch  # noqa: E402
from model import SpeechModel, encode_text, greedy, out_frames  # noqa: E402


def load(dirs: list[str]) -> tuple[list[np.ndarray], list[str]]:
    """Every utterance of some `synth.py` folders as int16 arrays, with its spoken text."""
    audio, texts = [], []
    for d in dirs:
        shards: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for line in open(Path(d) / "index.jsonl", encoding="utf-8"):
            r = json.loads(line)
            if r["shard"] not in shards:
                z = np.load(Path(d) / f"shard-{r['shard']:04d}.npz")
                shards = {r["shard"]: (z["audio"], z["offsets"])}
            a, o = shards[r["shard"]]
            audio.append(a[o[r["i"]]:o[r["i"] + 1]])
            texts.append(r["spoken"])
    return audio, texts


def is_val(text: str) -> bool:
    return zlib.crc32(text.encode()) % 100 == 0


class Pool:
    """The utterances loaded so far, int16 on the training device."""

    def __init__(self, folder: str, device: str):
        self.dir, self.device = Path(folder), device
        self.loaded: set[int] = set()
        self.audio: list[torch.Tensor] = []
        self.texts: list[str] = []
        self.train: list[int] = []
        self.val: list[int] = []

    def refresh(self) -> int:
        """Loads every complete shard not loaded yet; returns how many utterances were added."""
        index = self.dir / "index.jsonl"
        if not index.exists():
            return 0
        rows: dict[int, list[dict]] = {}
        for line in index.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                break  # a line still being written
            rows.setdefault(r["shard"], []).append(r)
        added = 0
        for sid in sorted(rows):
            path = self.dir / f"shard-{sid:04d}.npz"
            if sid in self.loaded or not path.exists():
                continue
            z = np.load(path)
            a, o = torch.from_numpy(z["audio"]).to(self.device), z["offsets"]
            if len(o) - 1 != len(rows[sid]):
                continue
            for r in rows[sid]:
                k = len(self.audio)
                self.audio.append(a[int(o[r["i"]]):int(o[r["i"] + 1])])
                self.texts.append(r["spoken"])
                if is_val(r["spoken"]):
                    self.val.append(k)
                elif len(self.audio[k]) >= 4000:
                    self.train.append(k)
            self.loaded.add(sid)
            added += len(rows[sid])
        return added

    def batch(self, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        lens = torch.tensor([len(self.audio[i]) for i in ids], device=self.device)
        x = torch.zeros(len(ids), int(lens.max()), device=self.device)
        for k, i in enumerate(ids):
            x[k, : len(self.audio[i])] = self.audio[i].float() / 32768
        return x, lens


def draw_batches(rng: random.Random, pool: Pool, seconds: float) -> list[list[int]]:
    """A few batches of similar-length training utterances, ~`seconds` of audio each."""
    limit = seconds * 16000
    cand = [pool.train[rng.randrange(len(pool.train))] for _ in range(min(len(pool.train) * 2, 4096))]
    cand.sort(key=lambda i: len(pool.audio[i]))
    out, cur, longest = [], [], 0
    for i in cand:
        n = max(longest, len(pool.audio[i]))
        if cur and n * (len(cur) + 1) > limit:
            out.append(cur)
            cur, n = [], len(pool.audio[i])
        cur.append(i)
        longest = n
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def spec_augment(gen: torch.Generator, f: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Two frequency masks (<= 10 bins) and one time mask (<= 25 frames) per 1.5 s, filled with the row mean."""
    B, T, F = f.shape
    dev = f.device
    valid = (torch.arange(T, device=dev)[None, :] < frames[:, None]).float()[:, :, None]
    fill = (f * valid).sum((1, 2)) / (frames.clamp(min=1) * F)
    keep = torch.ones(B, T, F, dtype=torch.bool, device=dev)
    bins = torch.arange(F, device=dev)[None, :]
    for _ in range(2):
        w = torch.randint(0, 11, (B,), generator=gen, device=dev)
        s = (torch.rand(B, generator=gen, device=dev) * (F - w + 1)).long()
        keep &= ~((bins >= s[:, None]) & (bins < (s + w)[:, None]))[:, None, :]
    t = torch.arange(T, device=dev)[None, :]
    n_masks = torch.clamp(frames // 150, min=1)
    for k in range(max(1, T // 150)):
        w = (torch.rand(B, generator=gen, device=dev) * (torch.clamp(frames // 10, max=25) + 1)).long()
        s = (torch.rand(B, generator=gen, device=dev) * (frames - w).clamp(min=1)).long()
        m = (t >= s[:, None]) & (t < (s + w)[:, None]) & (k < n_masks)[:, None]
        keep &= ~m[:, :, None]
    return torch.where(keep, f, fill[:, None, None])


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


def evaluate(model, pool: Pool, limit: int = 400) -> tuple[float, float]:
    """Greedy WER and exact-match rate on (up to `limit`) validation utterances, clean."""
    model.eval()
    ids = pool.val[:limit]
    errs = words = exact = 0
    with torch.no_grad():
        for s in range(0, len(ids), 64):
            chunk = ids[s:s + 64]
            x, lens = pool.batch(chunk)
            f, n = log_mel_torch(x, lens)
            logp, ol = model(f, n)
            for k, i in enumerate(chunk):
                hyp = greedy(logp[k, : int(ol[k])].float().cpu())
                e, m = wer(pool.texts[i], hyp)
                errs, words, exact = errs + e, words + m, exact + (hyp == pool.texts[i])
    model.train()
    return errs / max(1, words), exact / max(1, len(ids))


def save(model, path: str, step: int, w: float, meta: dict) -> None:
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"model": state, "cfg": model.cfg, "step": step, "val_wer": w, **meta}, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="synth.py output folder")
    ap.add_argument("--follow", action="store_true", help="keep loading shards synth.py is still writing")
    ap.add_argument("--out", required=True, help="checkpoint path (.pt)")
    ap.add_argument("--minutes", type=float, default=85.0, help="wall-clock training budget")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-seconds", type=float, default=120.0, help="audio per step")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=400)
    ap.add_argument("--eval-every", type=float, default=0.0, help="seconds between validations (default budget/8)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--d", type=int, default=144)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--conv-ch", type=int, default=64)
    ap.add_argument("--init", default=None, help="start from this checkpoint")
    ap.add_argument("--p-speaker", type=float, default=0.0,
                    help="share of examples re-voiced with moved formants (augment.py `_speaker`)")
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rng = random.Random(a.seed)
    gen = torch.Generator(device=device).manual_seed(a.seed)
    t0 = time.time()
    pool = Pool(a.data, device)
    while pool.refresh() == 0 or not pool.train:
        if not a.follow:
            sys.exit(f"{a.data}: no complete shard")
        time.sleep(1.0)
    model = SpeechModel(d=a.d, layers=a.layers, heads=a.heads, ff=4 * a.d, conv_ch=a.conv_ch).to(device)
    if a.init:
        sd = torch.load(a.init, map_location=device)["model"]
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M, device {device}", file=sys.stderr,
          flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    budget = a.minutes * 60
    every = a.eval_every or max(60.0, budget / 8)
    step, last_eval, last_poll, avg, best, queue = 0, time.time(), time.time(), None, math.inf, []
    best_on = len(pool.val)
    meta = {"device": device, "batch_seconds": a.batch_seconds, "minutes": a.minutes, "p_speaker": a.p_speaker}
    while time.time() - t0 < budget:
        if a.follow and time.time() - last_poll > 10:
            if pool.refresh():
                print(f"pool: {len(pool.train)} train, {len(pool.val)} val utterances, "
                      f"{sum(len(pool.audio[i]) for i in pool.train) / 16000 / 3600:.2f} h", file=sys.stderr, flush=True)
            last_poll = time.time()
        frac = (time.time() - t0) / budget
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.5 * (1 + math.cos(math.pi * frac)) * 0.95 + 0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        if not queue:
            queue = draw_batches(rng, pool, a.batch_seconds)
        ids = queue.pop()
        with torch.no_grad():
            x, lens = pool.batch(ids)
            x, lens = augment_batch(gen, x, lens, p_speaker=a.p_speaker)
            warp = 0.85 + 0.3 * torch.rand(len(ids), generator=gen, device=device)
            f, frames = log_mel_torch(x, lens, warp=warp)
            f = spec_augment(gen, f, frames)
            tg = [encode_text(pool.texts[i]) for i in ids]
            targets = torch.tensor([c for t in tg for c in t], device=device)
            tl = torch.tensor([len(t) for t in tg], device=device)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            logp, out_len = model(f, frames)
        loss = ctc(logp.float().transpose(0, 1), targets, out_len, tl)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 50 == 0:
            print(f"step {step} {(time.time() - t0) / 60:.1f} min loss {avg:.3f} lr {lr:.2e} batch {len(ids)}",
                  file=sys.stderr, flush=True)
        if time.time() - last_eval > every:
            w, ex = evaluate(model, pool)
            print(f"val wer {w:.4f} exact {ex:.3f} at step {step}", file=sys.stderr, flush=True)
            last_eval = time.time()
            # WERs on different validation sets do not compare: while --follow
            # adds shards the set grows, and an early score on a small set must
            # not shut out every later checkpoint.
            if len(pool.val) != best_on:
                best, best_on = math.inf, len(pool.val)
            if w <= best:
                best = w
                save(model, a.out, step, w, meta)
    w, ex = evaluate(model, pool)
    print(f"final val wer {w:.4f} exact {ex:.3f} after {step} steps, {(time.time() - t0) / 60:.1f} min, "
          f"{len(pool.train)} train utterances", file=sys.stderr, flush=True)
    if w <= best or len(pool.val) != best_on:
        save(model, a.out, step, w, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
