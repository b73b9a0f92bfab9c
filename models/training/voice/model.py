"""The on-device speech model: log-mel -> characters, trained with CTC.

Small on purpose (a Raspberry Pi 4 core must run it at a real-time factor
well under 0.1): two stride-2 convolutions (40 ms per output frame), a
depthwise convolution for position, then pre-LN transformer blocks with a
convolution module (a light conformer), and one linear layer to the
characters of `ALPHABET` plus the CTC blank (index 0).

The graph exported for the robot takes one utterance's features (1, T, 80)
and returns log-probabilities (1, T', 29); the per-utterance mean
normalisation is inside it, so the robot only computes log-mels.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ALPHABET = " 'abcdefghijklmnopqrstuvwxyz"  # index i + 1; 0 is the blank
VOCAB = len(ALPHABET) + 1


def encode_text(s: str) -> list[int]:
    return [ALPHABET.index(c) + 1 for c in s if c in ALPHABET]


def out_frames(t: torch.Tensor | int):
    """Output frames for t input frames (two valid 3x3 stride-2 convs)."""
    return ((t - 3) // 2 + 1 - 3) // 2 + 1


class Block(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, kernel: int, dropout: float):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.ln_att = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)
        self.ln_conv = nn.LayerNorm(d)
        self.pw1 = nn.Linear(d, 2 * d)
        self.dw = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d)
        self.pw2 = nn.Linear(d, d)
        self.ln_ff = nn.LayerNorm(d)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln_att(x)).view(B, T, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.dh)
        if bias is not None:
            att = att + bias
        a = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.drop(self.o(a))
        c = F.glu(self.pw1(self.ln_conv(x)), dim=-1).transpose(1, 2)
        c = F.silu(self.dw(c)).transpose(1, 2)
        x = x + self.drop(self.pw2(c))
        return x + self.drop(self.ff2(F.silu(self.ff1(self.ln_ff(x)))))


class SpeechModel(nn.Module):
    def __init__(self, d=144, layers=6, heads=4, ff=576, conv_ch=64, kernel=15, n_mels=80, dropout=0.1):
        super().__init__()
        self.cfg = dict(d=d, layers=layers, heads=heads, ff=ff, conv_ch=conv_ch, kernel=kernel, n_mels=n_mels)
        self.sub1 = nn.Conv2d(1, conv_ch, 3, stride=2)
        self.sub2 = nn.Conv2d(conv_ch, conv_ch, 3, stride=2)
        self.proj = nn.Linear(conv_ch * out_frames(n_mels), d)
        self.pos = nn.Conv1d(d, d, 31, padding=15, groups=d)
        self.blocks = nn.ModuleList(Block(d, heads, ff, kernel, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, VOCAB)

    def forward(self, feats, lengths=None):
        """feats (B, T, 80), lengths (B,) input frames -> log-probs (B, T', V), out lengths."""
        B, T, _ = feats.shape
        if lengths is None:
            mean = feats.mean(dim=1, keepdim=True)
            bias = None
            out_len = None
        else:
            mask = (torch.arange(T, device=feats.device)[None, :] < lengths[:, None]).float()[:, :, None]
            mean = (feats * mask).sum(1, keepdim=True) / lengths.clamp(min=1)[:, None, None].float()
            out_len = out_frames(lengths)
        x = (feats - mean).unsqueeze(1)
        x = F.relu(self.sub2(F.relu(self.sub1(x))))  # (B, C, T', F')
        x = self.proj(x.permute(0, 2, 1, 3).flatten(2))
        if out_len is not None:
            t2 = x.shape[1]
            valid = torch.arange(t2, device=x.device)[None, :] < out_len[:, None]
            x = x * valid[:, :, None].float()
            bias = torch.zeros(B, 1, 1, t2, device=x.device).masked_fill(~valid[:, None, None, :], -1e4)
        x = x + self.pos(x.transpose(1, 2)).transpose(1, 2)
        for b in self.blocks:
            x = b(x, bias)
        return self.out(self.ln(x)).log_softmax(-1), out_len


def greedy(logp: torch.Tensor) -> str:
    """Best path decoding of one utterance's (T', V) log-probs."""
    ids = logp.argmax(-1).tolist()
    out, prev = [], 0
    for i in ids:
        if i != prev and i != 0:
            out.append(ALPHABET[i - 1])
        prev = i
    return " ".join("".join(out).split())
