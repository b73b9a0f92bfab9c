"""The speech model's input features: 80 log-mel energies every 10 ms.

This is the numpy twin of the robot's Rust frontend
(`robot_models::kernels::LogMel`, default config): Kaldi fbank as torchaudio
computes it (`torchaudio.compliance.kaldi.fbank(wave, num_mel_bins=80,
window_type="hanning", dither=0.0)`), written out in numpy because the
training loop computes it for every augmented example. The committed
fixture models/tests/fixtures/logmel_kaldi_fbank.json (from
`fbank_fixture.py`, torchaudio's own code) is checked by both sides: here
with `python3 features.py --check`, in Rust by models/tests/kernels_logmel.rs.
Any change here changes the model's input contract and needs a retrain.

Definition (16 kHz mono, samples as floats in [-1, 1]): frames of 400
samples every 160, only frames that fit; per frame remove the mean,
pre-emphasis 0.97 (`x[0] -= 0.97 x[0]`), symmetric Hann window, 512-point
FFT, power spectrum, 80 triangular filters on the HTK mel scale
(1127 ln(1 + f/700), triangles in the mel domain, 20 Hz to 8 kHz, the
Nyquist bin unused), natural log floored at float32 epsilon.
Normalisation (per-utterance mean over time) happens inside the model.
"""

from __future__ import annotations

import numpy as np

RATE = 16000
WIN = 400
HOP = 160
NFFT = 512
NMELS = 80
LOW_HZ = 20.0
PREEMPH = 0.97
EPS = float(np.finfo(np.float32).eps)


def _mel(f):
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_filters() -> np.ndarray:
    """(257, 80) filter matrix (Kaldi `get_mel_banks`, Nyquist row zero)."""
    nbins = NFFT // 2
    lo, hi = _mel(LOW_HZ), _mel(RATE / 2)
    delta = (hi - lo) / (NMELS + 1)
    mel = _mel((RATE / NFFT) * np.arange(nbins))[:, None]
    left = lo + np.arange(NMELS)[None, :] * delta
    center, right = left + delta, left + 2 * delta
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    fb = np.maximum(0.0, np.minimum(up, down))
    return np.concatenate([fb, np.zeros((1, NMELS))], axis=0).astype(np.float32)


_FB = mel_filters()
_WINDOW = np.hanning(WIN).astype(np.float64)  # symmetric, as torch.hann_window(periodic=False)


def num_frames(n: int) -> int:
    return 0 if n < WIN else 1 + (n - WIN) // HOP


def log_mel(x: np.ndarray) -> np.ndarray:
    """(T, 80) float32 log-mel features of float samples `x`."""
    x = np.asarray(x, dtype=np.float32)
    t = num_frames(len(x))
    if t == 0:
        return np.zeros((0, NMELS), dtype=np.float32)
    idx = np.arange(WIN)[None, :] + HOP * np.arange(t)[:, None]
    frames = x[idx].astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    prev = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = (frames - PREEMPH * prev) * _WINDOW[None, :]
    spec = np.fft.rfft(frames, n=NFFT, axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    return np.log(np.maximum(power @ _FB.astype(np.float64), EPS)).astype(np.float32)


def _check() -> None:
    import json
    from pathlib import Path

    fx = json.loads((Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "logmel_kaldi_fbank.json").read_text())
    got = log_mel(np.array(fx["samples"], dtype=np.float32))
    want = np.array(fx["log_mel"], dtype=np.float32).reshape(got.shape)
    err = float(np.max(np.abs(got - want)))
    assert err < 1e-3, f"features differ from the fixture by {err}"
    print(f"ok: {got.shape[0]} frames, max abs difference {err:.2e}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--check"]:
        _check()
