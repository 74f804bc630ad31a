"""The `baby` preset's run in PyTorch: nanoGPT's model and training loop for its CPU configuration
(config/train_shakespeare_char.py with --device=cpu --eval_iters=20 --block_size=64 --batch_size=12
--n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0), written
from nanoGPT's description, to see what the original reaches where wgrad is asked for 1.88.

    python3 scripts/baby-pytorch.py --seed 1337 [--gelu erf|tanh]

Prints one JSON line: the validation loss at each evaluation (nanoGPT's estimate: the mean of 20
random batches), the loss over the whole validation split (non-overlapping windows, as `wgrad eval
--split val`), and the wall time. Needs torch (Debian: python3-torch) and data/tinyshakespeare.txt.
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LAYERS, HEADS, WIDTH, CONTEXT, BATCH = 4, 4, 128, 64, 12
ITERS, WARMUP, LR, MIN_LR, EVAL_EVERY, EVAL_BATCHES = 2000, 100, 1e-3, 1e-4, 250, 20


class Block(nn.Module):
    """Pre-LayerNorm block: causal self-attention, then a 4× GELU MLP. No biases (LayerNorm biases stay 0)."""

    def __init__(self, gelu):
        super().__init__()
        self.gelu = gelu
        self.ln_1, self.ln_2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.c_attn = nn.Linear(WIDTH, 3 * WIDTH, bias=False)
        self.attn_proj = nn.Linear(WIDTH, WIDTH, bias=False)
        self.c_fc = nn.Linear(WIDTH, 4 * WIDTH, bias=False)
        self.mlp_proj = nn.Linear(4 * WIDTH, WIDTH, bias=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, HEADS, C // HEADS).transpose(1, 2) for t in self.c_attn(self.ln_1(x)).split(C, dim=2))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // HEADS)
        scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        x = x + self.attn_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate=self.gelu))


class GPT(nn.Module):
    def __init__(self, vocab, gelu):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, WIDTH), nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList([Block(gelu) for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(WIDTH)
        # nanoGPT's init: N(0, 0.02), projections into the residual stream N(0, 0.02 / √(2·layers)).
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * LAYERS) if name.endswith("_proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
        for m in self.modules():
            if isinstance(m, nn.LayerNorm):
                m.bias.requires_grad_(False)  # bias=False in nanoGPT: a LayerNorm without a shift

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # the head is tied to the token embedding
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def lr_at(it):
    if it < WARMUP:
        return LR * (it + 1) / (WARMUP + 1)
    return MIN_LR + 0.5 * (1 + math.cos(math.pi * (it - WARMUP) / (ITERS - WARMUP))) * (LR - MIN_LR)


def main():
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--seed", type=int, default=1337)
    args.add_argument("--gelu", choices=["erf", "tanh"], default="erf", help="erf: nanoGPT's nn.GELU(); tanh: GPT-2's (wgrad's)")
    args.add_argument("--data", default="data/tinyshakespeare.txt")
    o = args.parse_args()
    torch.manual_seed(o.seed)
    text = open(o.data, encoding="utf-8").read()
    stoi = {c: i for i, c in enumerate(sorted(set(text)))}
    tokens = torch.tensor([stoi[c] for c in text], dtype=torch.int64)
    split = int(0.9 * len(tokens))
    train, val = tokens[:split], tokens[split:]
    model = GPT(len(stoi), "none" if o.gelu == "erf" else "tanh")
    params = [p for p in model.parameters() if p.requires_grad]
    # nanoGPT's groups: weight decay on every matrix (embeddings included), none on LayerNorm gains.
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1}, {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.99))

    def batch(data):
        starts = torch.randint(len(data) - CONTEXT, (BATCH,))
        return torch.stack([data[s : s + CONTEXT] for s in starts]), torch.stack([data[s + 1 : s + 1 + CONTEXT] for s in starts])

    @torch.no_grad()
    def estimate(data):
        model.eval()
        mean = sum(model(*batch(data)).item() for _ in range(EVAL_BATCHES)) / EVAL_BATCHES
        model.train()
        return round(mean, 4)

    @torch.no_grad()
    def whole(data):
        starts = list(range(0, len(data) - CONTEXT, CONTEXT))
        total = 0.0
        for i in range(0, len(starts), 256):
            chunk = starts[i : i + 256]
            x = torch.stack([data[s : s + CONTEXT] for s in chunk])
            y = torch.stack([data[s + 1 : s + 1 + CONTEXT] for s in chunk])
            total += model(x, y).item() * len(chunk)
        return round(total / len(starts), 4)

    started, curve = time.time(), {}
    for it in range(ITERS + 1):
        if it % EVAL_EVERY == 0:
            curve[it] = estimate(val)
        if it == ITERS:
            break
        for g in optimizer.param_groups:
            g["lr"] = lr_at(it)
        loss = model(*batch(train))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
    print(json.dumps({"seed": o.seed, "gelu": o.gelu, "val_loss": curve[ITERS], "val_split_loss": whole(val), "curve": curve, "seconds": round(time.time() - started)}))


if __name__ == "__main__":
    main()
