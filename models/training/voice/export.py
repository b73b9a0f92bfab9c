#!/usr/bin/env python3
"""Export a trained speech model for the robot: int8 ONNX, manifest, scores.

The graph takes one utterance's log-mels `feats (1, T, 80)` (the Rust
frontend's output, `features.py` here) and returns `logp (1, T', 29)`, CTC
log-probabilities over the blank (0) and `ALPHABET`; T' = out_frames(T), one
frame per 40 ms. Mean normalisation is inside the graph. Weights of the
matrix products are quantized to int8 per output channel with the brain's
exporter (DequantizeLinear, which tract folds at load); convolutions stay f32
(they are a small share of the bytes). The int8 graph is checked against the
f32 PyTorch model with onnxruntime on validation audio when `--data` is given
(greedy transcripts must agree on nearly every utterance).

    python models/training/voice/export.py --ckpt asr.pt --out models/asr [--data /tmp/voice/train]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import ALPHABET, SpeechModel, greedy  # noqa: E402


def _brain_exporter():
    """The brain's int8 weight quantizer (its folder also has a model.py, so load it by path)."""
    import importlib.util

    voice_model = sys.modules.pop("model")
    saved_path = list(sys.path)
    sys.path.insert(0, str(HERE.parent / "brain"))
    try:
        spec = importlib.util.spec_from_file_location("brain_export", HERE.parent / "brain" / "export.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path[:] = saved_path
        sys.modules["model"] = voice_model
    return mod


_bx = _brain_exporter()
quantize_weights, sha256 = _bx.quantize_weights, _bx.sha256


def load_model(ckpt: str) -> SpeechModel:
    c = torch.load(ckpt, map_location="cpu")
    cfg = dict(c["cfg"])
    model = SpeechModel(**cfg)
    model.load_state_dict(c["model"])
    model.eval()
    return model, c


def export_f32(model: SpeechModel, path: Path) -> None:
    """The f32 graph before quantization (`from_onnx.py` relies on its initializer names)."""
    dummy = torch.randn(1, 300, 80)
    torch.onnx.export(model, (dummy,), str(path), input_names=["feats"], output_names=["logp"],
                      dynamic_axes={"feats": {1: "T"}, "logp": {1: "U"}}, opset_version=17, dynamo=False)


def export(model: SpeechModel, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    f32 = out / "model.f32.onnx"
    export_f32(model, f32)
    stats = quantize_weights(f32, out / "model.onnx")
    f32.unlink()
    return stats


def parity(model: SpeechModel, onnx_path: Path, data: str | None, n: int = 60) -> dict:
    import onnxruntime as ort

    from features import log_mel

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feats = []
    if data:
        from train import load

        audio, _ = load([data])
        rng = np.random.default_rng(0)
        for i in rng.choice(len(audio), size=min(n, len(audio)), replace=False):
            feats.append(log_mel(audio[int(i)].astype(np.float32) / 32768))
    else:
        rng = np.random.default_rng(0)
        feats = [rng.standard_normal((200, 80)).astype(np.float32) for _ in range(4)]
    agree, max_diff = 0, 0.0
    for f in feats:
        with torch.no_grad():
            ref, _ = model(torch.from_numpy(f)[None])
        got = sess.run(["logp"], {"feats": f[None]})[0]
        max_diff = max(max_diff, float(np.abs(np.exp(got) - np.exp(ref.numpy())).max()))
        agree += greedy(ref[0]) == greedy(torch.from_numpy(got[0]))
    return {"utterances": len(feats), "greedy_agree": agree, "max_prob_diff": round(max_diff, 4)}


def write_parity(model: SpeechModel, onnx_path: Path, data: str, out: Path) -> dict:
    """A short training-voice utterance and what the int8 graph makes of it, for the Rust parity test."""
    import wave

    import onnxruntime as ort

    from features import log_mel
    from train import load

    audio, texts = load([data])
    i = min(range(len(audio)), key=lambda k: abs(len(audio[k]) - 2 * 16000))
    x = audio[i]
    out.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out / "utterance.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(x.astype("<i2").tobytes())
    f = log_mel(x.astype(np.float32) / 32768)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    logp = sess.run(["logp"], {"feats": f[None]})[0][0]
    expected = {"reference": texts[i], "greedy": greedy(torch.from_numpy(logp)), "frames": int(f.shape[0]),
                "out_frames": int(logp.shape[0]), "argmax": logp.argmax(-1).tolist(),
                "logp_rows_0_4": np.round(logp[:4], 4).tolist()}
    (out / "expected.json").write_text(json.dumps(expected) + "\n")
    return expected


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=None, help="synth.py folder for the int8-vs-f32 check")
    a = ap.parse_args()
    model, c = load_model(a.ckpt)
    out = Path(a.out)
    stats = export(model, out)
    check = parity(model, out / "model.onnx", a.data)
    print(json.dumps({"quantization": stats, "parity": check}), file=sys.stderr)
    manifest = {
        "files": {"model.onnx": {"sha256": sha256(out / "model.onnx"), "bytes": (out / "model.onnx").stat().st_size}},
        "alphabet": ALPHABET,
        "blank": 0,
        "n_mels": model.cfg["n_mels"],
        "frame_shift_ms": 10,
        "output_stride": 4,
        "config": model.cfg,
        "training": {k: c[k] for k in ("step", "val_wer") if k in c},
        "parity": check,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    if a.data:
        e = write_parity(model, out / "model.onnx", a.data, out / "parity")
        print(f"parity utterance: {e['reference']!r} -> {e['greedy']!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
