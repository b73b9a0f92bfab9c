"""Export the original all-MiniLM-L6-v2 as the robot's sentence embedder.

The brain fine-tunes MiniLM for planning, which ruins it as a general
sentence embedder; memory search needs the pretrained weights. This script
builds the sentence-transformers pipeline (BERT, mean pooling over the
tokens, L2 normalisation) as one graph, `input_ids [1, T] -> embedding [384]`,
exports it to ONNX (opset 17), quantizes the weights to int8 with the brain's
exporter (per output channel, DequantizeLinear for matrices, int8 rows
gathered then scaled for the embedding tables, which tract cannot fold),
measures the int8 graph against the f32 PyTorch model with onnxruntime, and
writes models/embed/: model.onnx, tokenizer.json (padding and truncation off),
manifest.json (sha256 and size of each file) and quality.json (the figures
MODEL_CARD.md quotes).

    python models/training/embed/export.py --out models/embed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "brain"))
from model import MiniLM, minilm_dir  # noqa: E402
from export import quantize_weights, sha256  # noqa: E402

# Pairs whose cosine the model card reports: (a, b, related?).
PAIRS = [
    ("red ball", "a crimson ball", True),
    ("red ball", "blue cup", False),
    ("the kitchen", "where we cook food", True),
    ("the kitchen", "a red ball", False),
    ("drive to the charging dock", "go recharge the battery", True),
    ("drive to the charging dock", "the cat is asleep on the sofa", False),
    ("the user prefers quiet mode at night", "be silent after 10 pm", True),
    ("the user prefers quiet mode at night", "a green bottle near the door", False),
]

# Texts for the int8-vs-f32 agreement figure.
AGREEMENT_TEXTS = [
    "red ball", "blue cup", "the kitchen", "charging dock", "go to the living room and look for the keys",
    "object red ball seen near the sofa", "episode: drive forward two metres then turn left (completed)",
    "note: the operator likes slow driving indoors", "a yellow toy car under the table",
    "place garage", "find my shoes", "the robot bumped into the door frame",
    "preference: speak quietly after 9 pm", "green bottle", "the hallway by the front door",
    "what did you see in the bedroom yesterday",
]


class Embed(nn.Module):
    """MiniLM + mean pooling + L2 normalisation; one sentence, no padding."""

    def __init__(self, enc: MiniLM):
        super().__init__()
        self.enc = enc

    def forward(self, input_ids):
        h = self.enc(input_ids)[0]  # [T, D]; every token is real, so the mean is plain
        v = h.mean(dim=0)
        return v / torch.clamp(torch.linalg.vector_norm(v), min=1e-12)


def load_f32() -> MiniLM:
    """MiniLM with the package's exact f32 weights (no f16 rounding)."""
    from safetensors.torch import load_file

    m = MiniLM()
    sd = load_file(os.path.join(minilm_dir(), "model.safetensors"))
    with torch.no_grad():
        m.word.weight.copy_(sd["embeddings.word_embeddings.weight"])
        m.pos.weight.copy_(sd["embeddings.position_embeddings.weight"])
        m.type0.copy_(sd["embeddings.token_type_embeddings.weight"][0])
        m.ln.weight.copy_(sd["embeddings.LayerNorm.weight"])
        m.ln.bias.copy_(sd["embeddings.LayerNorm.bias"])
        for i, l in enumerate(m.layers):
            p = f"encoder.layer.{i}."
            for mine, theirs in [(l.q, "attention.self.query"), (l.k, "attention.self.key"),
                                 (l.v, "attention.self.value"), (l.o, "attention.output.dense"),
                                 (l.ff1, "intermediate.dense"), (l.ff2, "output.dense"),
                                 (l.ln1, "attention.output.LayerNorm"), (l.ln2, "output.LayerNorm")]:
                mine.weight.copy_(sd[p + theirs + ".weight"])
                mine.bias.copy_(sd[p + theirs + ".bias"])
    return m.eval()


def measure(model: Embed, onnx_path: Path, tok) -> dict:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), so)

    def f32(text):
        with torch.no_grad():
            return model(torch.tensor([tok.encode(text).ids])).numpy()

    def q8(text):
        return sess.run(None, {"input_ids": np.array([tok.encode(text).ids], np.int64)})[0]

    agree = [float(np.dot(f32(t), q8(t))) for t in AGREEMENT_TEXTS]
    pairs = [{"a": a, "b": b, "related": rel, "cosine_f32": round(float(np.dot(f32(a), f32(b))), 4),
              "cosine_int8": round(float(np.dot(q8(a), q8(b))), 4)} for a, b, rel in PAIRS]
    return {"int8_vs_f32_cosine_min": round(min(agree), 4), "int8_vs_f32_cosine_mean": round(float(np.mean(agree)), 4),
            "texts": len(agree), "pairs": pairs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="models/embed")
    ap.add_argument("--keep-f32", action="store_true")
    a = ap.parse_args()
    from tokenizers import Tokenizer

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    model = Embed(load_f32()).eval()
    ids = torch.tensor([[101, 2417, 3608, 102]])
    f32_path = out / "model.f32.onnx"
    torch.onnx.export(model, (ids,), str(f32_path), input_names=["input_ids"], output_names=["embedding"],
                      dynamic_axes={"input_ids": {1: "T"}}, opset_version=17, dynamo=False)
    stats = quantize_weights(f32_path, out / "model.onnx")
    if not a.keep_f32:
        f32_path.unlink()

    tj = json.load(open(Path(minilm_dir()) / "tokenizer.json"))
    tj["padding"] = None
    tj["truncation"] = None
    with open(out / "tokenizer.json", "w") as f:
        json.dump(tj, f, ensure_ascii=False)
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    report = {"quantization": stats, **measure(model, out / "model.onnx", tok)}
    with open(out / "quality.json", "w") as f:
        json.dump(report, f, indent=1)
    files = {}
    for name in ["model.onnx", "tokenizer.json"]:
        files[name] = {"sha256": sha256(out / name), "bytes": (out / name).stat().st_size}
    with open(out / "manifest.json", "w") as f:
        json.dump({"files": files, "dim": 384, "max_tokens": 256, "model": "all-MiniLM-L6-v2"}, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
