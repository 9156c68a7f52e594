"""A tiny GPT as a chain of blocks, for the remat walk-through and tests.

``build(**kw)`` returns the factory dict remat_torch's command line expects:
``{"blocks": nn.Sequential, "input": token ids, "loss_fn": x_L -> scalar}``.
Blocks: token+position embedding, ``layers`` pre-norm transformer blocks
(causal self-attention and an MLP, both with dropout), final norm + head.
"""

import collections
import math

import torch
from torch import nn


class Embedding(nn.Module):
    def __init__(self, vocab, width, context, dropout):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        return self.drop(self.tok(ids) + self.pos(pos))


class Block(nn.Module):
    def __init__(self, width, heads, dropout):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))
        self.drop = nn.Dropout(dropout)

    def attention(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        shape = (b, t, self.heads, c // self.heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(c // self.heads)
        mask = torch.ones(t, t, device=x.device, dtype=torch.bool).tril()
        scores = scores.masked_fill(~mask, float("-inf"))
        att = self.drop(torch.softmax(scores, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        return self.drop(self.proj(y))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.drop(self.mlp(self.ln2(x)))


class Head(nn.Module):
    def __init__(self, width, vocab):
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.out = nn.Linear(width, vocab)

    def forward(self, x):
        return self.out(self.ln(x))


def build(layers=4, width=32, heads=4, vocab=64, context=16, batch=2,
          dropout=0.1, seed=0, device="cpu"):
    """The factory: a seeded model, a batch of token ids and its loss."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    parts = [("embed", Embedding(vocab, width, context, dropout))]
    parts += [("h%d" % i, Block(width, heads, dropout)) for i in range(layers)]
    parts.append(("head", Head(width, vocab)))
    blocks = nn.Sequential(collections.OrderedDict(parts)).to(device)
    ids = torch.randint(vocab, (batch, context + 1), generator=gen).to(device)
    inputs, targets = ids[:, :-1], ids[:, 1:]

    def loss_fn(logits):
        return nn.functional.cross_entropy(logits.reshape(-1, vocab),
                                           targets.reshape(-1))
    return {"blocks": blocks, "input": inputs, "loss_fn": loss_fn}
