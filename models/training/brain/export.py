"""Export a trained brain to the robot's asset folder (models/brain/FORMAT.md).

Writes encoder.onnx and decoder.onnx (opset 17), quantizes their weights to
int8 (symmetric, per output channel, stored as int8 initializers behind
DequantizeLinear, so the file is int8 and any ONNX runtime can load it),
checks the quantized graphs against PyTorch with onnxruntime, and writes
vocab.json, tokenizer.json (padding and truncation off) and manifest.json with
every file's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Brain, EncoderExport, StepExport, minilm_dir  # noqa: E402
import prepare  # noqa: E402

MIN_QUANT = 4096  # smaller tensors (biases, norms) stay f32: no size to win


def export_onnx(brain: Brain, out: Path):
    brain.eval()
    enc = EncoderExport(brain)
    ids = torch.tensor([[101, 3298, 2830, 1016, 1049, 102]])
    torch.onnx.export(enc, (ids,), str(out / "encoder.f32.onnx"), input_names=["input_ids"],
                      output_names=["cross_k", "cross_v", "ptr_keys", "copy_emb"],
                      dynamic_axes={"input_ids": {1: "T"}, "cross_k": {2: "T"}, "cross_v": {2: "T"},
                                    "ptr_keys": {0: "T"}, "copy_emb": {0: "T"}},
                      opset_version=17, dynamo=False)
    with torch.no_grad():
        ck, cv, pk, ce = enc(ids)
    L, H, T, Dh = ck.shape
    step = StepExport(brain)
    past = torch.zeros(L, H, 2, Dh)
    args = (torch.tensor([1]), torch.tensor([0]), torch.tensor([2]), past, past.clone(), ck, cv, pk, ce)
    names = ["token", "copy_pos", "step", "past_k", "past_v", "cross_k", "cross_v", "ptr_keys", "copy_emb"]
    torch.onnx.export(step, args, str(out / "decoder.f32.onnx"), input_names=names,
                      output_names=["logits", "present_k", "present_v"],
                      dynamic_axes={"past_k": {2: "P"}, "past_v": {2: "P"}, "cross_k": {2: "T"},
                                    "cross_v": {2: "T"}, "ptr_keys": {0: "T"}, "copy_emb": {0: "T"},
                                    "logits": {0: "VT"}, "present_k": {2: "P1"}, "present_v": {2: "P1"}},
                      opset_version=17, dynamo=False)
    return L, H, Dh


def quantize_weights(src: Path, dst: Path) -> dict:
    """int8 weight-only quantization, per output channel, symmetric."""
    m = onnx.load(str(src))
    g = m.graph
    consumers: dict[str, list] = {}
    for n in g.node:
        for i, name in enumerate(n.input):
            consumers.setdefault(name, []).append((n, i))
    new_inits, new_nodes, stats = [], [], {"quantized": 0, "bytes_f32": 0, "bytes_q": 0}
    new_after: list = []  # (gather node, nodes to insert after it)
    for init in g.initializer:
        w = numpy_helper.to_array(init)
        uses = consumers.get(init.name, [])
        axis = None
        if w.dtype == np.float32 and w.ndim == 2 and w.size >= MIN_QUANT and uses:
            kinds = {(n.op_type, i) for n, i in uses}
            if kinds <= {("MatMul", 1)}:
                axis = 1
            elif kinds <= {("Gather", 0)}:
                axis = 0
            elif len(kinds) == 1 and next(iter(kinds))[0] == "Gemm" and next(iter(kinds))[1] == 1:
                trans = [a.i for a in uses[0][0].attribute if a.name == "transB"]
                axis = 0 if trans and trans[0] == 1 else 1
        if axis is None:
            new_inits.append(init)
            continue
        gather = {n.op_type for n, _ in uses} == {"Gather"}
        amax = np.abs(w).max(axis=1 - axis)
        scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.round(w / (scale[None, :] if axis == 1 else scale[:, None])), -127, 127).astype(np.int8)
        qn, sn, zn = init.name + "_q", init.name + "_scale", init.name + "_zp"
        new_inits += [numpy_helper.from_array(q, qn), numpy_helper.from_array(scale, sn),
                      numpy_helper.from_array(np.zeros(scale.shape, np.int8), zn)]
        if gather:
            # Look up int8 rows, then scale just those: dequantizing a whole
            # embedding table is not folded by every runtime (tract runs it on
            # each call), and the table stays int8 in memory.
            new_inits.pop()  # no zero point needed
            for n, _ in uses:
                out = n.output[0]
                idx = n.input[1]
                pre = n.name or out
                n.output[0] = pre + "_rows_q"
                n.input[0] = qn
                new_after.append((n, [
                    helper.make_node("Cast", [pre + "_rows_q"], [pre + "_rows_f"], to=onnx.TensorProto.FLOAT),
                    helper.make_node("Gather", [sn, idx], [pre + "_rows_s"], axis=0),
                    helper.make_node("Unsqueeze", [pre + "_rows_s", "__axis_last"], [pre + "_rows_s1"]),
                    helper.make_node("Mul", [pre + "_rows_f", pre + "_rows_s1"], [out]),
                ]))
        else:
            new_nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [init.name], axis=axis,
                                              name=init.name + "_dq"))
        stats["quantized"] += 1
        stats["bytes_f32"] += w.nbytes
        stats["bytes_q"] += q.nbytes + scale.nbytes
    if new_after:
        new_inits.append(numpy_helper.from_array(np.array([-1], np.int64), "__axis_last"))
    del g.initializer[:]
    g.initializer.extend(new_inits)
    after = {id(n): extra for n, extra in new_after}
    nodes = []
    for n in g.node:
        nodes.append(n)
        nodes.extend(after.get(id(n), []))
    del g.node[:]
    g.node.extend(new_nodes + nodes)
    onnx.checker.check_model(m)
    onnx.save(m, str(dst))
    return stats


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check(brain: Brain, out: Path, rows: list[dict], V: int, n: int = 50) -> dict:
    """Teacher-forced step-by-step run of the int8 ONNX graphs (onnxruntime)
    against PyTorch: max logit difference and argmax agreement."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    enc = ort.InferenceSession(str(out / "encoder.onnx"), so)
    dec = ort.InferenceSession(str(out / "decoder.onnx"), so)
    agree = total = 0
    max_diff = 0.0
    brain.eval()
    for r in rows[:n]:
        ids = np.array([r["input_ids"]], dtype=np.int64)
        ck, cv, pk, ce = enc.run(None, {"input_ids": ids})
        L, H, _, Dh = ck.shape
        past_k = np.zeros((L, H, 0, Dh), np.float32)
        past_v = past_k.copy()
        with torch.no_grad():
            ref = brain(torch.tensor(ids), torch.ones_like(torch.tensor(ids)), torch.tensor([r["dec_tok"]]),
                        torch.tensor([r["dec_copy"]]))[0].numpy()
        for s, (tok, cp) in enumerate(zip(r["dec_tok"], r["dec_copy"])):
            logits, past_k, past_v = dec.run(None, {
                "token": np.array([tok], np.int64), "copy_pos": np.array([cp], np.int64),
                "step": np.array([s], np.int64), "past_k": past_k, "past_v": past_v,
                "cross_k": ck, "cross_v": cv, "ptr_keys": pk, "copy_emb": ce})
            max_diff = max(max_diff, float(np.abs(logits - ref[s]).max()))
            agree += int(logits.argmax() == ref[s].argmax())
            total += 1
    return {"steps": total, "argmax_agree": agree / max(total, 1), "max_logit_diff": max_diff}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--board", required=True)
    ap.add_argument("--out", default="models/brain")
    ap.add_argument("--check-data", help="prepared rows to compare ONNX with PyTorch on")
    ap.add_argument("--keep-f32", action="store_true")
    a = ap.parse_args()
    ck = torch.load(a.checkpoint, map_location="cpu")
    V = ck["V"]
    brain = Brain(V)
    brain.enc.load_pretrained()  # the frozen word embeddings
    missing, unexpected = brain.load_state_dict({k: v.float() for k, v in ck["state"].items()}, strict=False)
    if unexpected or missing != ["enc.word.weight"]:
        raise SystemExit(f"checkpoint does not fit the model: missing {missing}, unexpected {unexpected}")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    L, H, Dh = export_onnx(brain, out)
    report = {}
    for name in ["encoder", "decoder"]:
        report[name] = quantize_weights(out / f"{name}.f32.onnx", out / f"{name}.onnx")
    if a.check_data:
        rows = json.load(open(a.check_data))["rows"]
        report["check"] = check(brain, out, rows, V)
    if not a.keep_f32:
        for name in ["encoder", "decoder"]:
            (out / f"{name}.f32.onnx").unlink()
    tj = json.load(open(Path(minilm_dir()) / "tokenizer.json"))
    tj["padding"] = None
    tj["truncation"] = None
    with open(out / "tokenizer.json", "w") as f:
        json.dump(tj, f, ensure_ascii=False)
    tokens = ck["tokens"]
    vocab = {"format": 1, "tokens": tokens, "constants": prepare.constants_of(tokens),
             "tools": [t[5:] for t in tokens if t.startswith("tool:")], "d_model": brain.d, "layers": L,
             "heads": H, "head_dim": Dh, "max_steps": prepare.MAX_STEPS,
             "max_input_tokens": prepare.MAX_INPUT_TOKENS, "board": a.board}
    with open(out / "vocab.json", "w") as f:
        json.dump(vocab, f, indent=1)
    files = {}
    for name in ["encoder.onnx", "decoder.onnx", "tokenizer.json", "vocab.json"]:
        files[name] = {"sha256": sha256(out / name), "bytes": (out / name).stat().st_size}
    with open(out / "manifest.json", "w") as f:
        json.dump({"files": files}, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
