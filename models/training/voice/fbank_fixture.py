#!/usr/bin/env python3
"""The log-mel features the Rust voice frontend must reproduce, from torch.

`log_mel` below is THE definition shared by training and inference: Kaldi
fbank as torchaudio implements it (`torchaudio.compliance.kaldi.fbank`) with
80 mel bins, a symmetric Hann window and no dither, every other option at its
default (25 ms frames every 10 ms at 16 kHz, 512-point FFT, DC removal,
pre-emphasis 0.97, power spectrum, HTK mel scale from 20 Hz to Nyquist,
log floored at float32 epsilon). The Rust side is
`robot_models::kernels::LogMel` with `LogMelConfig::default()`.

Run without arguments to rewrite the fixture the Rust test compares against
(models/tests/fixtures/logmel_kaldi_fbank.json): a deterministic 16 kHz signal
(two tones, a chirp and seeded noise, float32 in [-1, 1]) and its features,
computed in float64 from those exact float32 samples.

torchaudio's package init refuses to load when its compiled extension does
not match the installed torch build (e.g. a CUDA version mismatch), although
`compliance/kaldi.py` is pure torch. In that case the file is loaded on its
own from the installed package, so the numbers are still torchaudio's code.

    python3 models/training/voice/fbank_fixture.py [out.json]
"""
import importlib.util
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch

SAMPLE_RATE = 16000
NUM_SAMPLES = 1840  # 10 frames of 400 samples every 160
FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "logmel_kaldi_fbank.json"


def load_kaldi():
    """torchaudio.compliance.kaldi, even when torchaudio's init cannot load."""
    try:
        from torchaudio.compliance import kaldi

        return kaldi
    except Exception as err:  # noqa: BLE001 - any init failure: fall back below
        spec = importlib.util.find_spec("torchaudio")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("torchaudio is not installed: pip install torchaudio") from err
        path = Path(spec.submodule_search_locations[0]) / "compliance" / "kaldi.py"
        saved = sys.modules.get("torchaudio")
        # kaldi.py imports torchaudio only for mfcc's DCT, which fbank never calls.
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")
        try:
            module_spec = importlib.util.spec_from_file_location("torchaudio_kaldi", path)
            kaldi = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(kaldi)
        finally:
            if saved is None:
                del sys.modules["torchaudio"]
            else:
                sys.modules["torchaudio"] = saved
        print(f"note: torchaudio did not import ({err.__class__.__name__}); using {path}", file=sys.stderr)
        return kaldi


KALDI = load_kaldi()


def log_mel(wave):
    """(num_frames, 80) log-mel features of a 1-D 16 kHz waveform tensor."""
    return KALDI.fbank(wave.unsqueeze(0), num_mel_bins=80, window_type="hanning", dither=0.0,
                       sample_frequency=float(SAMPLE_RATE))


def signal():
    t = np.arange(NUM_SAMPLES) / SAMPLE_RATE
    chirp = np.sin(2 * math.pi * (100 * t + 0.5 * 60000 * t * t))
    tones = 0.3 * np.sin(2 * math.pi * 440 * t) + 0.2 * np.sin(2 * math.pi * 3100 * t + 1.0)
    noise = np.random.default_rng(5).normal(0.0, 0.05, NUM_SAMPLES)
    return (0.4 * chirp + tones + noise).clip(-1.0, 1.0).astype(np.float32)


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE
    samples = signal()
    feats = log_mel(torch.from_numpy(samples.astype(np.float64)))
    fixture = {
        "about": "kaldi.fbank(wave, num_mel_bins=80, window_type='hanning', dither=0.0), float64; "
                 "written by models/training/voice/fbank_fixture.py",
        "sample_rate": SAMPLE_RATE,
        "num_mel_bins": feats.shape[1],
        "samples": [float(f"{x:.9g}") for x in samples.tolist()],
        "log_mel": [round(x, 5) for x in feats.flatten().tolist()],
    }
    out.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"{out}: {feats.shape[0]} frames x {feats.shape[1]} bins, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
