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


def log_mel_torch(x, lengths, warp=None):
    """Batched twin of `log_mel` in torch (CPU or GPU), for training.

    `x` (B, L) float samples, `lengths` (B,) valid samples per row. Returns
    features (B, T, 80) and frames per row (`num_frames`). `warp` (B,), when
    given, scales each row's frequency axis before the mel filters (vocal
    tract length perturbation, training only; 1.0 is the robot's frontend).
    """
    import torch

    dev = x.device
    B, L = x.shape
    if L < WIN:
        x = torch.nn.functional.pad(x, (0, WIN - L))
        L = WIN
    frames = x.unfold(1, WIN, HOP)  # (B, T, 400)
    frames = frames - frames.mean(dim=2, keepdim=True)
    prev = torch.cat([frames[:, :, :1], frames[:, :, :-1]], dim=2)
    window = torch.hann_window(WIN, periodic=False, dtype=x.dtype, device=dev)
    spec = torch.fft.rfft((frames - PREEMPH * prev) * window, n=NFFT, dim=2)
    power = spec.real ** 2 + spec.imag ** 2
    if warp is None:
        mel = power @ torch.from_numpy(_FB).to(dev, x.dtype)
    else:
        mel = torch.bmm(power, _warped_filters(warp.to(dev, x.dtype)))
    n = torch.where(lengths >= WIN, 1 + torch.div(lengths - WIN, HOP, rounding_mode="floor"), torch.zeros_like(lengths))
    return torch.log(torch.clamp(mel, min=EPS)), n


def _warped_filters(warp):
    """(B, 257, 80) mel filters over frequencies scaled by `warp` per row."""
    import torch

    nbins = NFFT // 2
    f = (RATE / NFFT) * torch.arange(nbins, device=warp.device, dtype=warp.dtype)
    fw = torch.clamp(f[None, :] * warp[:, None], max=RATE / 2)
    mel = (1127.0 * torch.log1p(fw / 700.0))[:, :, None]
    lo, hi = float(_mel(LOW_HZ)), float(_mel(RATE / 2))
    delta = (hi - lo) / (NMELS + 1)
    left = lo + torch.arange(NMELS, device=warp.device, dtype=warp.dtype)[None, None, :] * delta
    fb = torch.clamp(torch.minimum((mel - left) / delta, (left + 2 * delta - mel) / delta), min=0.0)
    return torch.cat([fb, torch.zeros_like(fb[:, :1])], dim=1)


def _check() -> None:
    import json
    from pathlib import Path

    fx = json.loads((Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "logmel_kaldi_fbank.json").read_text())
    got = log_mel(np.array(fx["samples"], dtype=np.float32))
    want = np.array(fx["log_mel"], dtype=np.float32).reshape(got.shape)
    err = float(np.max(np.abs(got - want)))
    assert err < 1e-3, f"features differ from the fixture by {err}"
    print(f"ok: {got.shape[0]} frames, max abs difference {err:.2e}")
    import torch

    xs = torch.from_numpy(np.array(fx["samples"], dtype=np.float32))[None]
    tf, n = log_mel_torch(xs.double(), torch.tensor([xs.shape[1]]))
    terr = float(np.max(np.abs(tf[0, : int(n[0])].numpy() - want)))
    wf, _ = log_mel_torch(xs.double(), torch.tensor([xs.shape[1]]), warp=torch.ones(1, dtype=torch.float64))
    werr = float((wf - tf).abs().max())
    assert terr < 1e-3 and werr < 1e-6, f"torch features differ: {terr}, warp 1.0: {werr}"
    print(f"ok: torch twin max abs difference {terr:.2e}, unwarped filters {werr:.2e}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--check"]:
        _check()
