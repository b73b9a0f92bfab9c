"""Train the brain on prepared data (prepare.py output), on CPU or GPU.

Teacher forcing with cross-entropy over the joint vocabulary + pointer
softmax. The MiniLM word embeddings stay frozen (they carry the pretrained
knowledge of words the generator never uses); its transformer layers are
fine-tuned with a small learning rate, the decoder with a larger one. Runs for
a wall-clock budget or a number of epochs, whichever ends first, and reports
sequence exact match (teacher-forced) on a generated validation set, never on
an evaluation set.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Brain  # noqa: E402


def batches(rows, bs, rng, shuffle=True):
    """Length-bucketed batches: sort by input length inside shuffled chunks."""
    idx = list(range(len(rows)))
    if shuffle:
        rng.shuffle(idx)
    chunk = bs * 50
    out = []
    for c in range(0, len(idx), chunk):
        part = sorted(idx[c:c + chunk], key=lambda i: len(rows[i]["input_ids"]))
        out += [part[i:i + bs] for i in range(0, len(part), bs)]
    if shuffle:
        rng.shuffle(out)
    return out


def collate(rows, ids, device):
    B = len(ids)
    T = max(len(rows[i]["input_ids"]) for i in ids)
    S = max(len(rows[i]["target"]) for i in ids)
    inp = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    tok = torch.zeros(B, S, dtype=torch.long)
    cp = torch.zeros(B, S, dtype=torch.long)
    tgt = torch.full((B, S), -100, dtype=torch.long)
    for b, i in enumerate(ids):
        r = rows[i]
        n, s = len(r["input_ids"]), len(r["target"])
        inp[b, :n] = torch.tensor(r["input_ids"])
        mask[b, :n] = 1
        tok[b, :s] = torch.tensor(r["dec_tok"])
        cp[b, :s] = torch.tensor(r["dec_copy"])
        # Pointer ids are V + position; with padding, T is the batch max, so
        # they stay valid in the concatenated [V + T] logits.
        tgt[b, :s] = torch.tensor(r["target"])
    return [t.to(device) for t in (inp, mask, tok, cp, tgt)]


@torch.no_grad()
def evaluate(model, rows, device, bs=128):
    model.eval()
    good = total = 0
    for ids in batches(rows, bs, None, shuffle=False):
        inp, mask, tok, cp, tgt = collate(rows, ids, device)
        pred = model(inp, mask, tok, cp).argmax(-1)
        ok = ((pred == tgt) | (tgt == -100)).all(-1)
        good += int(ok.sum())
        total += len(ids)
    model.train()
    return good / max(total, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=float, default=6)
    ap.add_argument("--minutes", type=float, default=40)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--enc-lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    if a.threads:
        torch.set_num_threads(a.threads)
    train = json.load(open(a.train))
    val = json.load(open(a.val))
    assert train["tokens"] == val["tokens"], "validation data was prepared with another vocabulary"
    V = len(train["tokens"])
    model = Brain(V)
    model.enc.load_pretrained()
    model.enc.word.weight.requires_grad_(False)
    model.to(a.device)
    enc_params = [p for n, p in model.named_parameters() if n.startswith("enc.") and p.requires_grad]
    dec_params = [p for n, p in model.named_parameters() if not n.startswith("enc.")]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": a.enc_lr}, {"params": dec_params, "lr": a.lr}],
                            weight_decay=0.01)
    rows = train["rows"]
    steps_per_epoch = (len(rows) + a.batch - 1) // a.batch
    total = int(steps_per_epoch * a.epochs)
    warm = min(300, total // 10)
    base = [g["lr"] for g in opt.param_groups]
    t0 = time.time()
    step = 0
    done = False
    while not done:
        for ids in batches(rows, a.batch, rng):
            inp, mask, tok, cp, tgt = collate(rows, ids, a.device)
            logits = model(inp, mask, tok, cp)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            elapsed = (time.time() - t0) / 60
            if step < warm:
                frac = step / warm
            else:
                # Linear decay to zero at the step budget or the time budget,
                # whichever comes first.
                frac = max(0.0, min((total - step) / max(1, total - warm), 1 - elapsed / a.minutes))
            for g, b in zip(opt.param_groups, base):
                g["lr"] = b * frac
            opt.step()
            step += 1
            if step % 200 == 0:
                print(f"step {step}/{total} loss {loss.item():.4f} {elapsed:.1f} min", flush=True)
            if step % 2000 == 0:
                print(f"  val exact (teacher-forced) {evaluate(model, val['rows'], a.device):.4f}", flush=True)
            if step >= total or elapsed >= a.minutes:
                done = True
                break
    acc = evaluate(model, val["rows"], a.device)
    print(f"final: {step} steps, {(time.time() - t0) / 60:.1f} min, val exact {acc:.4f}", flush=True)
    # The frozen word embeddings are the pretrained ones: left out of the
    # checkpoint (export reloads them), which keeps it small; f16 halves it.
    state = {k: v.half() if v.is_floating_point() else v
             for k, v in model.to("cpu").state_dict().items() if k != "enc.word.weight"}
    torch.save({"state": state, "tokens": train["tokens"], "V": V}, a.out)


if __name__ == "__main__":
    main()
