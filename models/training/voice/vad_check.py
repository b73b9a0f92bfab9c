#!/usr/bin/env python3
"""Reference speech probabilities from onnxruntime for the Silero VAD.

Prints one probability per 512-sample chunk (32 ms at 16 kHz) of a WAV file,
computed the way silero-vad's own OnnxWrapper does it (64 samples of context
from the previous chunk prepended, the recurrent state carried over), so the
Rust `voice::Vad` on tract can be compared against it number for number.

The WAV must already be 16 kHz mono (write one with the Rust side or sox);
int16/int32/float samples are accepted. A trailing partial chunk is dropped,
as the Rust streaming API only ever sees whole chunks.

    python3 models/training/voice/vad_check.py models/vad/silero_vad_16k.onnx in.wav

`--dedupe-names SRC OUT` writes the committed model from the package's
`silero_vad_openvino_16k.onnx`: 15 of its nodes share the name `F0::anon`,
which tract 0.23.9 refuses ("duplicate name for node"); they get unique
names (`F0::anon`, `F0::anon.1`, ...). Only node names change: ops, weights,
inputs and outputs are byte-identical, and onnxruntime's probabilities on
a given WAV are the same before and after (checked when a WAV is given).

    python3 models/training/voice/vad_check.py --dedupe-names SRC.onnx OUT.onnx [check.wav]
"""
import sys
import wave

import numpy as np
import onnxruntime

CHUNK = 512
CONTEXT = 64


def read_wav_16k_mono(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1:
            sys.exit(f"{path}: need 16 kHz mono, got {w.getframerate()} Hz x{w.getnchannels()}")
        width = w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    sys.exit(f"{path}: unsupported sample width {width}")


def read_any(path):
    try:
        return read_wav_16k_mono(path)
    except wave.Error:
        # The stdlib reader refuses IEEE-float WAVs (format 3); parse the data chunk by hand.
        data = open(path, "rb").read()
        i = data.index(b"data") + 8
        return np.frombuffer(data[i:], dtype="<f4").astype(np.float32)


def probs(model_path, audio):
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    sess = onnxruntime.InferenceSession(model_path, sess_options=opts, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros((1, CONTEXT), dtype=np.float32)
    out = []
    for start in range(0, len(audio) - CHUNK + 1, CHUNK):
        x = np.concatenate([context, audio[None, start:start + CHUNK]], axis=1)
        feed = {"input": x, "state": state}
        if "sr" in names:
            feed["sr"] = np.array(16000, dtype=np.int64)
        p, state = sess.run(None, feed)
        context = x[:, -CONTEXT:]
        out.append(float(p.reshape(-1)[0]))
    return out


def dedupe_names(src, out, wav=None):
    import onnx  # only this mode needs it

    model = onnx.load(src)
    seen = {}
    for node in model.graph.node:
        k = seen.get(node.name, 0)
        seen[node.name] = k + 1
        if k:
            node.name = f"{node.name}.{k}"
    onnx.save(model, out)
    if wav:
        audio = read_any(wav)
        a, b = probs(src, audio), probs(out, audio)
        if a != b:
            sys.exit("probabilities changed")
        print(f"{len(a)} chunks: identical probabilities")


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--dedupe-names":
        dedupe_names(*sys.argv[2:])
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    for p in probs(sys.argv[1], read_any(sys.argv[2])):
        print(f"{p:.6f}")


if __name__ == "__main__":
    main()
