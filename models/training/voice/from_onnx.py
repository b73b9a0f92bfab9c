#!/usr/bin/env python3
"""Rebuild a training checkpoint from the committed speech model, to continue training it.

Training checkpoints (`asr.pt`) live on the machine that trained them; what the
project keeps is the int8 graph in `models/asr/model.onnx`. This script turns
that graph back into a `train.py --init` checkpoint, so a later session (or
an accelerator) can pick up where the shipped model stopped instead of
starting from scratch.

How: the exporter (`export.py`) stores each matrix as int8 with one scale
per output channel behind a DequantizeLinear node whose output carries the
weight's original name; everything else stays f32. This script dequantizes
those, then finds which PyTorch parameter each ONNX
initializer came from by exporting a model of the same configuration whose
parameters are all distinct random numbers and matching values (the tracer
stores some weights transposed, as `onnx::MatMul_N`). A parameter that no
initializer explains is an error, never a silent random init. The int8
rounding stays in the weights (at most half a step per channel); continued
training recovers it within a few hundred steps.

    python3 models/training/voice/from_onnx.py --asr-dir models/asr --out /tmp/voice/shipped.pt
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from export import export_f32  # noqa: E402
from model import SpeechModel  # noqa: E402
from train import save  # noqa: E402


def onnx_weights(path: Path) -> dict[str, np.ndarray]:
    """Every f32 weight of an exported graph, int8 ones dequantized back under their original name."""
    g = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    out = {name: w for name, w in inits.items() if w.dtype == np.float32}
    for n in g.node:
        # The exporter's DequantizeLinear nodes: int8 weight, one scale per
        # output channel along `axis`, zero point 0; the output is the name
        # the f32 graph gave the weight.
        if n.op_type != "DequantizeLinear" or n.input[0] not in inits:
            continue
        q, scale = inits[n.input[0]], inits[n.input[1]]
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        shape = [1] * q.ndim
        shape[axis] = -1
        out[n.output[0]] = q.astype(np.float32) * scale.reshape(shape)
        out.pop(n.input[1], None)
    return out


def param_sources(cfg: dict) -> dict[str, tuple[str, bool]]:
    """ONNX initializer name -> (PyTorch parameter, stored transposed), found by exporting distinct values."""
    probe = SpeechModel(**cfg).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in probe.parameters():
            p.copy_(torch.rand(p.shape, generator=g) + 1.0)
    params = {k: v.detach().numpy() for k, v in probe.state_dict().items()}
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "probe.onnx"
        export_f32(probe, f)
        exported = onnx_weights(f)
    sources = {}
    for name, w in exported.items():
        for pname, p in params.items():
            if p.shape == w.shape and np.array_equal(p, w):
                sources[name] = (pname, False)
                break
            if p.ndim == 2 and p.T.shape == w.shape and np.array_equal(p.T, w):
                sources[name] = (pname, True)
                break
    return sources


def rebuild(asr_dir: Path) -> tuple[SpeechModel, dict]:
    manifest = json.loads((asr_dir / "manifest.json").read_text())
    cfg = dict(manifest["config"])
    weights = onnx_weights(asr_dir / "model.onnx")
    sources = param_sources(cfg)
    model = SpeechModel(**cfg)
    state = model.state_dict()
    filled = set()
    for name, (pname, transposed) in sources.items():
        if name not in weights:
            raise SystemExit(f"{asr_dir / 'model.onnx'}: no initializer {name}; was it exported with another config?")
        w = weights[name].T if transposed else weights[name]
        if tuple(w.shape) != tuple(state[pname].shape):
            raise SystemExit(f"{name} -> {pname}: shape {w.shape} against {tuple(state[pname].shape)}")
        state[pname] = torch.from_numpy(np.ascontiguousarray(w))
        filled.add(pname)
    missing = [k for k in state if k not in filled]
    if missing:
        raise SystemExit(f"no ONNX initializer explains {missing}")
    model.load_state_dict(state)
    return model.eval(), manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--asr-dir", default=str(HERE.parents[1] / "asr"))
    ap.add_argument("--out", required=True, help="checkpoint path (.pt) for train.py --init")
    a = ap.parse_args(argv)
    model, manifest = rebuild(Path(a.asr_dir))
    train = manifest.get("training", {})
    save(model, a.out, train.get("step", 0), train.get("val_wer"), {"from_onnx": str(Path(a.asr_dir) / "model.onnx")})
    print(f"from_onnx: {len(model.state_dict())} tensors from {a.asr_dir} -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
