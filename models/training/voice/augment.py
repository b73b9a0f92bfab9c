"""Training-time audio augmentation for the speech model.

The synthesizers speak in a clean, studio-dry voice; a robot hears a room,
motors, other people and a cheap microphone. Each training example is
re-mixed every time it is drawn: tempo, level, leading/trailing silence,
reverberation (synthetic exponentially decaying room responses), microphone
colouring (random band limits and a resonance), additive noise at 0-30 dB SNR
(white, pink, brown, mains hum, or babble made of other utterances) and rare
clipping. All randomness comes from the `numpy.random.Generator` passed in, so
a seeded run is reproducible.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

RATE = 16000


def _coloured(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power ~ 1/f^exponent (0 white, 1 pink, 2 brown)."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(n // 2 + 1, dtype=np.float64)
    f[0] = 1.0
    spec /= f ** (exponent / 2)
    x = np.fft.irfft(spec, n=n)
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def _hum(rng: np.random.Generator, n: int) -> np.ndarray:
    base = rng.choice([50.0, 60.0, 100.0, 120.0])
    t = np.arange(n) / RATE
    x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.28)) for k in range(1, 6))
    x = x + 0.3 * _coloured(rng, n, 1.0)
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def _babble(rng: np.random.Generator, n: int, pool: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    for _ in range(int(rng.integers(1, 5))):
        if not pool:
            break
        s = pool[int(rng.integers(len(pool)))]
        if len(s) == 0:
            continue
        start = int(rng.integers(0, max(1, len(s) - n))) if len(s) > n else 0
        seg = s[start:start + n]
        off = int(rng.integers(0, n - len(seg) + 1))
        out[off:off + len(seg)] += seg / (np.std(seg) + 1e-6)
    return out / (np.std(out) + 1e-12) if np.any(out) else _coloured(rng, n, 1.0)


def _rir(rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(0.15, 0.7)
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.002 * RATE)] = 0.0
    h = np.zeros(n, dtype=np.float64)
    h[0] = 1.0
    h += tail * rng.uniform(0.05, 0.4)
    return (h / np.sqrt(np.sum(h ** 2))).astype(np.float32)


def _colour(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    lo = rng.uniform(60, 400)
    hi = rng.uniform(3200, 7600)
    sos = butter(int(rng.integers(1, 4)), [lo, hi], btype="bandpass", fs=RATE, output="sos")
    y = sosfilt(sos, x)
    if rng.random() < 0.5:  # a resonance of the enclosure
        f0 = rng.uniform(500, 3000)
        bw = f0 / rng.uniform(2, 6)
        sos2 = butter(1, [f0 - bw / 2, f0 + bw / 2], btype="bandpass", fs=RATE, output="sos")
        y = y + rng.uniform(0.2, 1.0) * sosfilt(sos2, y)
    return y.astype(np.float32)


def augment(rng: np.random.Generator, x: np.ndarray, pool: list[np.ndarray], p: float = 1.0) -> np.ndarray:
    """A new noisy, coloured version of float samples `x` (16 kHz)."""
    x = np.asarray(x, dtype=np.float32)
    if rng.random() < 0.3 * p:
        up = int(rng.integers(9, 12))
        x = resample_poly(x, up, 10).astype(np.float32)  # 0.9x-1.1x tempo and pitch
    lead, trail = (int(rng.uniform(0.05, 0.5) * RATE) for _ in range(2))
    x = np.concatenate([np.zeros(lead, np.float32), x, np.zeros(trail, np.float32)])
    if rng.random() < 0.3 * p:
        x = fftconvolve(x, _rir(rng))[: len(x)].astype(np.float32)
    if rng.random() < 0.5 * p:
        x = _colour(rng, x)
    sig = float(np.sqrt(np.mean(x ** 2))) + 1e-9
    if rng.random() < 0.6 * p:
        kind = rng.choice(["white", "pink", "brown", "hum", "babble", "babble"])
        n = len(x)
        noise = {"white": lambda: _coloured(rng, n, 0.0), "pink": lambda: _coloured(rng, n, 1.0),
                 "brown": lambda: _coloured(rng, n, 2.0), "hum": lambda: _hum(rng, n),
                 "babble": lambda: _babble(rng, n, pool)}[kind]()
        snr = rng.uniform(0.0, 30.0)
        x = x + noise * (sig / 10 ** (snr / 20))
    else:
        x = x + _coloured(rng, len(x), 1.0) * sig * 10 ** (-rng.uniform(40, 60) / 20)  # a quiet room
    peak = float(np.max(np.abs(x))) + 1e-9
    level = 10 ** (rng.uniform(-30, -1) / 20)
    if rng.random() < 0.04 * p:
        level = rng.uniform(1.5, 4.0)  # an overdriven input
    return np.clip(x * (level / peak), -1.0, 1.0).astype(np.float32)
