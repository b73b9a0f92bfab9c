#!/usr/bin/env python3
"""Rebuild a training checkpoint from the committed speech model, to continue training it.

Training checkpoints (`asr.pt`) live on the machine that trained them; what the
project keeps is the int8 graph in `models/asr/model.onnx`. This script turns
that graph back into a `train.py --init` checkpoint, so a later session (or
an accelerator) can pick up where the shipped model stopped instead of
starting from scratch.

How: the exporter (`export.py`) stores each matrix as int8 rows plus one scale
per output channel (`NAME_q`, `NAME_scale`); everything else stays f32. This
script dequantizes those, then finds which PyTorch parameter each ONNX
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
from model import SpeechModel  # noqa: E402


def onnx_weights(path: Path) -> dict[str, np.ndarray]:
    """Every initializer of an exported graph, int8 ones dequantized back to f32 under their original name."""
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    out = {}
    for name, w in inits.items():
        if name.endswith("_q") and name[:-2] + "_scale" in inits:
            base = name[:-2]
            scale = inits[base + "_scale"].astype(np.float32)
            # Per output channel: the scale runs along whichever axis has its length.
            if w.ndim == 2 and scale.shape == (w.shape[1],) and w.shape[0] != w.shape[1]:
                out[base] = w.astype(np.float32) * scale[None, :]
            elif w.ndim == 2 and scale.shape == (w.shape[0],) and w.shape[0] != w.shape[1]:
                out[base] = w.astype(np.float32) * scale[:, None]
            else:
                # Square matrix: MatMul weights (the only square int8 ones here) scale columns.
                out[base] = w.astype(np.float32) * scale[None, :]
        elif name.endswith(("_scale", "_zp")) and name.rsplit("_", 1)[0] + "_q" in inits:
            continue
        elif w.dtype == np.float32:
            out[name] = w
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
        torch.onnx.export(probe, (torch.randn(1, 300, 80),), str(f), input_names=["feats"], output_names=["logp"],
                          dynamic_axes={"feats": {1: "T"}, "logp": {1: "U"}}, opset_version=17, dynamo=False)
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
    torch.save({"model": {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
                "cfg": model.cfg, "step": train.get("step", 0), "val_wer": train.get("val_wer"),
                "from_onnx": str(Path(a.asr_dir) / "model.onnx")}, a.out)
    print(f"from_onnx: {len(model.state_dict())} tensors from {a.asr_dir} -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
