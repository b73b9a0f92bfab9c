"""Side by side: the robot's tract inference vs onnxruntime on the same model files.

For each brain variant (the committed weight-only int8 graphs, and optionally
onnxruntime's own dynamic int8 quantization of the f32 export), runs
`robot eval plan --timings` (tract, single thread, the robot's real code path:
normalize + tokenize + encoder + constrained decoding) and then onnxruntime
(Python, 1 thread) on the same utterances, the same token ids and the same
number of decoder steps, and prints medians and the tract/onnxruntime ratio.
Both run in this one process tree, on this machine, one after the other.

    python3 models/training/brain/bench_runtimes.py --robot target/release/robot \\
        --cases ../shared/eval/plan-dev.jsonl [--f32 DIR_WITH_encoder.f32.onnx]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prepare  # noqa: E402


def tract_timings(robot: str, cases: str, brain: Path, board: str, reps: int) -> dict[str, dict]:
    """Per-case medians over `reps` runs of `robot eval plan`."""
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(reps):
            out = Path(tmp) / "t.jsonl"
            subprocess.run([robot, "eval", "plan", cases, "--brain", str(brain), "--board", board,
                            "--timings", str(out)], check=True, capture_output=True)
            for line in out.read_text().splitlines():
                r = json.loads(line)
                runs.setdefault(r["id"], []).append(r)
    return {k: {f: statistics.median(x[f] for x in v) for f in ("encode_ms", "decode_ms", "total_ms")}
            | {"steps": v[0]["steps"], "utterance": v[0]["utterance"]} for k, v in runs.items()}


def ort_timings(brain: Path, cases: dict, normalizer: Path, reps: int) -> dict[str, dict]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    enc = ort.InferenceSession(str(brain / "encoder.onnx"), so)
    dec = ort.InferenceSession(str(brain / "decoder.onnx"), so)
    vocab = json.load(open(brain / "vocab.json"))
    V = len(vocab["tokens"])
    ptr_id = vocab["tokens"].index("<ptr>")
    bos = vocab["tokens"].index("<bos>")
    tok = prepare.load_tokenizer(brain / "tokenizer.json")
    ids_all = list(cases)
    norms = prepare.normalize_all([cases[k]["utterance"] for k in ids_all], normalizer)
    out = {}
    for k, norm in zip(ids_all, norms):
        ids = np.array([tok.encode(norm["text"]).ids], dtype=np.int64)
        steps = cases[k]["steps"]
        if steps == 0:  # refused before the model
            continue
        et, dt = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            ck, cv, pk, ce = enc.run(None, {"input_ids": ids})
            t1 = time.perf_counter()
            L, H, _, Dh = ck.shape
            past_k = np.zeros((L, H, 0, Dh), np.float32)
            past_v = past_k.copy()
            token, copy = bos, 0
            for s in range(steps):
                logits, past_k, past_v = dec.run(None, {
                    "token": np.array([token], np.int64), "copy_pos": np.array([copy], np.int64),
                    "step": np.array([s], np.int64), "past_k": past_k, "past_v": past_v,
                    "cross_k": ck, "cross_v": cv, "ptr_keys": pk, "copy_emb": ce})
                best = int(logits.argmax())
                token, copy = (ptr_id, best - V) if best >= V else (best, 0)
            t2 = time.perf_counter()
            et.append((t1 - t0) * 1e3)
            dt.append((t2 - t1) * 1e3)
        out[k] = {"encode_ms": statistics.median(et), "decode_ms": statistics.median(dt)}
    return out


def with_manifest(d: Path):
    files = {}
    for name in ["encoder.onnx", "decoder.onnx", "tokenizer.json", "vocab.json"]:
        b = (d / name).read_bytes()
        files[name] = {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)}
    (d / "manifest.json").write_text(json.dumps({"files": files}))


def report(name: str, tr: dict, ox: dict):
    keys = [k for k in tr if k in ox]
    if not keys:
        print(f"{name}: no cases ran the model")
        return
    te = statistics.median(tr[k]["encode_ms"] for k in keys)
    oe = statistics.median(ox[k]["encode_ms"] for k in keys)
    td = statistics.median(tr[k]["decode_ms"] / tr[k]["steps"] for k in keys)
    od = statistics.median(ox[k]["decode_ms"] / tr[k]["steps"] for k in keys)
    tt = statistics.median(tr[k]["encode_ms"] + tr[k]["decode_ms"] for k in keys)
    ot = statistics.median(ox[k]["encode_ms"] + ox[k]["decode_ms"] for k in keys)
    print(f"{name} ({len(keys)} utterances, medians, 1 thread)")
    print(f"  encoder        tract {te:7.2f} ms   onnxruntime {oe:7.2f} ms   tract/ort {te / oe:5.2f}")
    print(f"  decoder step   tract {td:7.3f} ms   onnxruntime {od:7.3f} ms   tract/ort {td / od:5.2f}")
    print(f"  per command    tract {tt:7.2f} ms   onnxruntime {ot:7.2f} ms   tract/ort {tt / ot:5.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--robot", default="target/release/robot")
    ap.add_argument("--normalizer", default="target/release/robot-normalize")
    ap.add_argument("--cases", required=True)
    ap.add_argument("--brain", default="models/brain")
    ap.add_argument("--board", default="boards/sim-rover.toml")
    ap.add_argument("--f32", help="folder with encoder.f32.onnx/decoder.f32.onnx (export.py --keep-f32) to also "
                                  "measure onnxruntime's dynamic int8 quantization (MatMulInteger)")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    variants = [("weight-only int8 (committed)", Path(a.brain))]
    tmp = tempfile.TemporaryDirectory()
    if a.f32:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        for label, kind in [("f32", None), ("dynamic int8 (onnxruntime quantize_dynamic)", "dyn")]:
            d = Path(tmp.name) / (kind or "f32")
            d.mkdir()
            for f in ["tokenizer.json", "vocab.json"]:
                shutil.copy(Path(a.brain) / f, d / f)
            for g in ["encoder", "decoder"]:
                src = Path(a.f32) / f"{g}.f32.onnx"
                if kind:
                    quantize_dynamic(str(src), str(d / f"{g}.onnx"), per_channel=True, weight_type=QuantType.QInt8)
                else:
                    shutil.copy(src, d / f"{g}.onnx")
            with_manifest(d)
            variants.append((label, d))
    for label, d in variants:
        tr = tract_timings(a.robot, a.cases, d, a.board, a.reps)
        ox = ort_timings(d, tr, Path(a.normalizer), a.reps)
        report(label, tr, ox)


if __name__ == "__main__":
    main()
