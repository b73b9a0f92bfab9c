"""Training-time audio augmentation for the speech model, a batch at a time.

The synthesizers speak in a clean, studio-dry voice; a robot hears a room,
motors, other people and a cheap microphone. Each training example is
re-mixed every time it is drawn: a new speaker (formants moved by
0.8x-1.25x with pitch and excitation kept, and a random smooth spectral
envelope, see `_speaker`), tempo (0.85x-1.2x, pitch moving with it),
leading/trailing silence, reverberation (synthetic exponentially decaying
room responses), microphone colouring (random band limits and an enclosure
resonance), additive noise at 0-30 dB SNR (white, pink, brown, mains hum, or
babble made of the batch's other utterances), level, and rare clipping.

Everything is batched torch, so the same code runs on the training CPU and,
where one is lent, on a GPU (where a per-example numpy pipeline would starve
it). All randomness comes from the `torch.Generator` passed in (on the
batch's device), so a seeded run is reproducible on one device.
"""

from __future__ import annotations

import math

import torch

RATE = 16000


def _u(gen, n, lo, hi, dev):
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=dev)


def _retime(x, lens, factor, lead, trail):
    """Rows resampled by `factor` (>1 faster) with `lead`/`trail` zeros, by linear interpolation."""
    B, L = x.shape
    body = torch.floor(lens.float() / factor).long()
    new_lens = lead + body + trail
    Lout = int(new_lens.max())
    i = torch.arange(Lout, device=x.device)[None, :].float()
    src = (i - lead[:, None].float()) * factor[:, None]
    valid = (src >= 0) & (src <= (lens[:, None] - 1).float()) & (i < (lead + body)[:, None].float())
    s0 = torch.clamp(src.floor().long(), 0, L - 1)
    s1 = torch.clamp(s0 + 1, max=L - 1)
    w = (src - src.floor()).clamp(0, 1)
    y = torch.gather(x, 1, s0) * (1 - w) + torch.gather(x, 1, s1) * w
    return torch.where(valid, y, torch.zeros_like(y)), new_lens


def _speaker(gen, x, lens, on):
    """Rows re-voiced as another speaker: formants moved, pitch and timing kept.

    The synthesizers offer few vocal tracts (espeak-ng's variants, two flite
    voices), and held-out voices fail mostly on that. VTLP on the features
    scales harmonics and formants together, like a resampled recording; here
    the spectral envelope (the cepstrum's first 1.5 ms, below any pitch
    period) is warped by 0.8x-1.25x and given a few random +-6 dB bumps while
    the fine structure (the harmonics) stays, as a different talker saying
    the same thing at the same pitch would. Rows where `on` is false pass
    through unchanged.
    """
    dev = x.device
    B, L = x.shape
    n_fft, hop = 512, 128
    nb = n_fft // 2 + 1
    # Drawn for every row, so the random stream does not depend on which rows are on.
    alpha = torch.exp(_u(gen, B, math.log(0.8), math.log(1.25), dev))
    f = torch.arange(nb, device=dev)[None, :].float()
    bumps = torch.zeros(B, nb, device=dev)
    for _ in range(3):
        c = _u(gen, B, 0, nb, dev)[:, None]
        width = _u(gen, B, 8, 40, dev)[:, None]
        gain = _u(gen, B, -0.7, 0.7, dev)[:, None]  # natural log: about +-6 dB
        bumps = bumps + gain * torch.exp(-0.5 * ((f - c) / width) ** 2)
    mask = (torch.arange(L, device=dev)[None, :] < lens[:, None]).float()
    rows = on.nonzero().squeeze(1)
    if rows.numel() == 0:
        return x * mask
    # Only the re-voiced rows pay for the STFT: this runs on every training step.
    xs, alpha, bumps = x[rows], alpha[rows], bumps[rows]
    n = rows.numel()
    win = torch.hann_window(n_fft, device=dev)
    S = torch.stft(xs, n_fft, hop, window=win, return_complex=True)
    logm = S.abs().clamp(min=1e-6).log()
    cep = torch.fft.irfft(logm, n=n_fft, dim=1)
    keep = int(0.0015 * RATE)
    lift = torch.zeros(n_fft, device=dev)
    lift[: keep + 1] = 1.0
    lift[n_fft - keep:] = 1.0
    env = torch.fft.rfft(cep * lift[None, :, None], dim=1).real
    src = (f / alpha[:, None]).clamp(max=nb - 1)
    s0 = src.floor().long()
    s1 = (s0 + 1).clamp(max=nb - 1)
    w = (src - s0.float())[:, :, None]
    T = env.shape[2]
    warped = (torch.gather(env, 1, s0[:, :, None].expand(n, nb, T)) * (1 - w)
              + torch.gather(env, 1, s1[:, :, None].expand(n, nb, T)) * w)
    ys = torch.istft(torch.polar((logm + warped - env + bumps[:, :, None]).exp(), S.angle()), n_fft, hop,
                     window=win, length=L)
    # Keep each row's level: the later stages set SNR against it.
    m = mask[rows]
    r_in = (xs.pow(2) * m).sum(1).sqrt()
    r_out = (ys.pow(2) * m).sum(1).sqrt().clamp(min=1e-9)
    y = x * mask
    y[rows] = ys * m * (r_in / r_out)[:, None]
    return y


def _rir_spectrum(gen, B, n_fft, dev, on):
    """rfft of a room response per row (a unit impulse where `on` is false)."""
    rt60 = _u(gen, B, 0.15, 0.7, dev)
    n = int(0.7 * RATE)
    t = torch.arange(n, device=dev)[None, :] / RATE
    tail = torch.randn(B, n, generator=gen, device=dev) * torch.exp(-6.9 * t / rt60[:, None])
    tail = tail * (t < rt60[:, None]).float()
    tail[:, : int(0.002 * RATE)] = 0.0
    h = tail * _u(gen, B, 0.05, 0.4, dev)[:, None]
    h[:, 0] = 1.0
    h = h / h.pow(2).sum(1, keepdim=True).sqrt()
    h = torch.where(on[:, None], h, torch.nn.functional.one_hot(torch.zeros(B, dtype=torch.long, device=dev), n).float())
    return torch.fft.rfft(h, n=n_fft)


def _colour_gain(gen, B, freqs, dev, on):
    """|H(f)| of a band-limited microphone with an optional resonance; 1 where `on` is false."""
    lo, hi = _u(gen, B, 60, 400, dev), _u(gen, B, 3200, 7600, dev)
    order = torch.randint(1, 4, (B,), generator=gen, device=dev).float()
    f = freqs[None, :].clamp(min=1.0)
    g = 1 / torch.sqrt(1 + (f / hi[:, None]) ** (2 * order[:, None])) / torch.sqrt(1 + (lo[:, None] / f) ** (2 * order[:, None]))
    f0 = _u(gen, B, 500, 3000, dev)
    bw = f0 / _u(gen, B, 2, 6, dev)
    res = torch.rand(B, generator=gen, device=dev) < 0.5
    peak = 1 / (1 + ((f - f0[:, None]) / (bw[:, None] / 2)) ** 2)
    g = g * (1 + res[:, None].float() * _u(gen, B, 0.2, 1.0, dev)[:, None] * peak)
    return torch.where(on[:, None], g, torch.ones_like(g))


def _noise(gen, B, L, dev, x, lens):
    """Unit-RMS noise per row: coloured (white/pink/brown), hum or babble."""
    n_f = L // 2 + 1
    expo = torch.randint(0, 3, (B,), generator=gen, device=dev).float()
    f = torch.arange(n_f, device=dev).float().clamp(min=1.0)
    spec = torch.complex(torch.randn(B, n_f, generator=gen, device=dev), torch.randn(B, n_f, generator=gen, device=dev))
    col = torch.fft.irfft(spec / f[None, :] ** (expo[:, None] / 2), n=L)
    t = torch.arange(L, device=dev)[None, :] / RATE
    base = torch.tensor([50.0, 60.0, 100.0, 120.0], device=dev)[torch.randint(0, 4, (B,), generator=gen, device=dev)]
    hum = sum(_u(gen, B, 0.2, 1.0, dev)[:, None] / k * torch.sin(2 * math.pi * base[:, None] * k * t
                                                                   + _u(gen, B, 0, 6.28, dev)[:, None])
              for k in range(1, 6))
    unit = x / (x.pow(2).sum(1, keepdim=True) / lens.clamp(min=1)[:, None]).sqrt().clamp(min=1e-6)
    babble = torch.zeros_like(x)
    talkers = torch.randint(1, 5, (B,), generator=gen, device=dev)
    for k in range(1, 5):
        shift = int(torch.randint(0, L, (1,), generator=gen, device=dev))
        babble = babble + torch.roll(torch.roll(unit, k, 0), shift, 1) * (talkers >= k)[:, None].float()
    kind = torch.randint(0, 6, (B,), generator=gen, device=dev)  # 0-2 coloured, 3 hum, 4-5 babble
    out = torch.where((kind <= 2)[:, None], col, torch.where((kind == 3)[:, None], hum + 0.3 * col, babble))
    return out / out.std(dim=1, keepdim=True).clamp(min=1e-9)


def augment_batch(gen: torch.Generator, x: torch.Tensor, lens: torch.Tensor, p: float = 1.0,
                  p_speaker: float = 0.0):
    """New noisy, coloured versions of rows of float samples `x` (B, L) at 16 kHz.

    `p_speaker` is the share of rows re-voiced by `_speaker` (0 keeps the
    recipe the committed model was trained with). Returns (y, new_lens);
    samples past a row's length are zero.
    """
    dev = x.device
    B = x.shape[0]
    if p_speaker > 0:
        x = _speaker(gen, x, lens, torch.rand(B, generator=gen, device=dev) < p_speaker)
    speed = torch.where(torch.rand(B, generator=gen, device=dev) < 0.5 * p, _u(gen, B, 0.85, 1.2, dev),
                        torch.ones(B, device=dev))
    lead = (_u(gen, B, 0.05, 0.5, dev) * RATE).long()
    trail = (_u(gen, B, 0.05, 0.5, dev) * RATE).long()
    x, lens = _retime(x, lens, speed, lead, trail)
    L = x.shape[1]
    mask = (torch.arange(L, device=dev)[None, :] < lens[:, None]).float()
    reverb = torch.rand(B, generator=gen, device=dev) < 0.3 * p
    colour = torch.rand(B, generator=gen, device=dev) < 0.5 * p
    n_fft = 1 << (L + int(0.7 * RATE)).bit_length()
    X = torch.fft.rfft(x, n=n_fft)
    freqs = torch.fft.rfftfreq(n_fft, 1 / RATE).to(dev)
    X = X * _rir_spectrum(gen, B, n_fft, dev, reverb) * _colour_gain(gen, B, freqs, dev, colour)
    x = torch.fft.irfft(X, n=n_fft)[:, :L] * mask
    sig = (x.pow(2).sum(1) / lens.clamp(min=1)).sqrt() + 1e-9
    noisy = torch.rand(B, generator=gen, device=dev) < 0.6 * p
    snr = torch.where(noisy, _u(gen, B, 0.0, 30.0, dev), _u(gen, B, 40.0, 60.0, dev))  # else a quiet room
    x = x + _noise(gen, B, L, dev, x, lens) * mask * (sig / 10 ** (snr / 20))[:, None]
    peak = x.abs().amax(1) + 1e-9
    level = 10 ** (_u(gen, B, -30, -1, dev) / 20)
    hot = torch.rand(B, generator=gen, device=dev) < 0.04 * p
    level = torch.where(hot, _u(gen, B, 1.5, 4.0, dev), level)  # an overdriven input
    return torch.clamp(x * (level / peak)[:, None], -1.0, 1.0), lens


if __name__ == "__main__":
    # Smoke check: shapes, lengths, no NaN, SNR spread, on the CPU.
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 32000, generator=g) * 0.1
    lens = torch.tensor([32000, 20000, 16000, 8000, 32000, 4000, 12000, 30000])
    y, nl = augment_batch(g, x, lens, p_speaker=0.5)
    assert y.shape[0] == 8 and torch.isfinite(y).all() and int(nl.max()) == y.shape[1]
    assert all(float(y[i, int(nl[i]):].abs().max() if nl[i] < y.shape[1] else 0) == 0 for i in range(8))
    off = _speaker(g, x, lens, torch.zeros(8, dtype=torch.bool))
    assert torch.equal(off, x * (torch.arange(x.shape[1])[None, :] < lens[:, None]))
    on = _speaker(g, x, lens, torch.ones(8, dtype=torch.bool))
    assert torch.isfinite(on).all() and torch.allclose(on.pow(2).sum(1), off.pow(2).sum(1), rtol=1e-3)
    print("ok", tuple(y.shape), nl.tolist())
