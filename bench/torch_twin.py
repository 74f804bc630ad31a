"""PyTorch twin of wgrad's benchmark workloads, on the CPU.

Run by bench/torch.ts as `python3 bench/torch_twin.py DIR`: DIR/jobs.json lists jobs, each with its
input files (raw little-endian float32/int32 written by the bench); for every job this script writes
DIR/<id>.out.bin (float32: the result the bench checks against its float64 oracle) and an entry in
DIR/results.json: {"samples": [seconds per timed iteration], "note": ...} or {"error": "..."}.
Before timing, each result is checked against the float64 oracle's answer that the bench sends with the
job (DIR/<id>.expected.bin, with its tolerance): a wrong result is reported as {"wrong": "..."} and
never timed. (The bench checks the returned result again, with the same rule as every contender.)

The workloads mirror wgrad's exactly: same shapes, same inputs, same float32 arithmetic, the same GPT
(Hugging Face GPT-2 names and layouts: linear weights stored (in, out), LM head tied to wte, tanh
GELU, no biases unless asked) and the same AdamW recipe, so tokens/s compare like for like.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")
ATTENTION_NOTE = (
    "torch attention: F.scaled_dot_product_attention (causal)"
    if HAS_SDPA
    else f"torch {torch.__version__} has no F.scaled_dot_product_attention; the twin uses q·kᵀ, a causal mask, softmax, ·v"
)


def load(directory, spec):
    dtype = np.int32 if spec["dtype"] == "int32" else np.float32
    return torch.from_numpy(np.fromfile(os.path.join(directory, spec["file"]), dtype=dtype))


def timed(iteration, warmup, samples):
    for _ in range(warmup):
        iteration()
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        iteration()
        out.append(time.perf_counter() - started)
    return out


def mismatch(got, expected, rtol, atol):
    """The worst element outside |got - expected| <= atol + rtol·|expected|, described, or None."""
    got = got.detach().double().reshape(-1).numpy()
    if got.shape != expected.shape:
        return f"{got.size} values, expected {expected.size}"
    excess = np.abs(got - expected) - (atol + rtol * np.abs(expected))
    excess = np.where(np.isnan(excess), np.inf, excess)
    worst = int(np.argmax(excess)) if excess.size else 0
    if excess.size == 0 or excess[worst] <= 0:
        return None
    return f"element {worst}: got {got[worst]}, expected {expected[worst]} (rtol {rtol}, atol {atol})"


def flat(*tensors):
    return torch.cat([t.detach().reshape(-1).float() for t in tensors])


# ---- kernels ---------------------------------------------------------------------------------------


def matmul_job(job, inputs):
    a = inputs[0].reshape(job["aShape"])
    b = inputs[1].reshape(job["bShape"])
    op_a = a.t() if job.get("transA") else a
    op_b = b.t() if job.get("transB") else b

    def iteration():
        for _ in range(job["units"]):
            torch.mm(op_a, op_b)

    return torch.mm(op_a, op_b), iteration, None


def causal_attention(q, k, v):
    """(B, H, Tq, D) queries after Tk - Tq cached positions; query i sees keys up to Tk - Tq + i."""
    tq, tk = q.shape[-2], k.shape[-2]
    if HAS_SDPA and tq == tk:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    mask = torch.ones(tq, tk, dtype=torch.bool).tril(diagonal=tk - tq)
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ v


def attention_job(job, inputs):
    shape = job["shape"]
    q, k, v = (t.reshape(shape).clone().requires_grad_(job["backward"]) for t in inputs[:3])
    dy = inputs[3].reshape(shape) if job["backward"] else None

    def step():
        out = causal_attention(q, k, v)
        if dy is not None:
            q.grad = k.grad = v.grad = None
            out.backward(dy)
        return out

    def iteration():
        for _ in range(job["units"]):
            if dy is None:
                with torch.no_grad():
                    step()
            else:
                step()

    out = step()
    result = flat(out, q.grad, k.grad, v.grad) if dy is not None else flat(out)
    return result, iteration, ATTENTION_NOTE


def layernorm_job(job, inputs):
    n, c = job["shape"]
    x = inputs[0].reshape(n, c).clone().requires_grad_(True)
    w = inputs[1].clone().requires_grad_(True)
    b = inputs[2].clone().requires_grad_(True)
    dy = inputs[3].reshape(n, c)

    def step():
        x.grad = w.grad = b.grad = None
        y = F.layer_norm(x, (c,), w, b, job["eps"])
        y.backward(dy)
        return y

    def iteration():
        for _ in range(job["units"]):
            step()

    y = step()
    return flat(y, x.grad, w.grad, b.grad), iteration, None


def cross_entropy_job(job, inputs):
    n, v = job["shape"]
    logits = inputs[0].reshape(n, v).clone().requires_grad_(True)
    targets = inputs[1].long()

    def step():
        logits.grad = None
        loss = F.cross_entropy(logits, targets)
        loss.backward()
        return loss

    def iteration():
        for _ in range(job["units"]):
            step()

    loss = step()
    return flat(loss, logits.grad), iteration, None


def adamw_job(job, inputs):
    hyper = dict(lr=job["lr"], betas=(job["beta1"], job["beta2"]), eps=job["eps"], weight_decay=job["weightDecay"])

    def fresh():
        p = torch.nn.Parameter(inputs[0].clone())
        p.grad = inputs[1].clone()
        return p, torch.optim.AdamW([p], **hyper)

    p, opt = fresh()
    opt.step()
    result = p.detach().clone()
    p, opt = fresh()

    def iteration():
        for _ in range(job["units"]):
            opt.step()

    return result, iteration, "torch AdamW: torch.optim.AdamW with its default implementation for CPU tensors"


# ---- the GPT ---------------------------------------------------------------------------------------


class TwinGPT:
    """wgrad's GPT (src/nn/gpt.ts) written with torch ops on the same named weights."""

    def __init__(self, config, weights):
        self.c = config
        self.p = {name: t.requires_grad_(True) for name, t in weights.items()}

    def ln(self, x, name):
        return F.layer_norm(x, (self.c["nEmbd"],), self.p[name + ".weight"], self.p.get(name + ".bias"), 1e-5)

    def linear(self, x, name):
        y = x @ self.p[name + ".weight"]
        bias = self.p.get(name + ".bias")
        return y + bias if bias is not None else y

    def forward(self, idx, caches=None):
        c = self.c
        nh, C = c["nHead"], c["nEmbd"]
        B, T = idx.shape
        past = caches[0][0].shape[2] if caches and caches[0] is not None else 0
        x = self.p["transformer.wte.weight"][idx] + self.p["transformer.wpe.weight"][past : past + T]
        for layer in range(c["nLayer"]):
            h = f"transformer.h.{layer}."
            qkv = self.linear(self.ln(x, h + "ln_1"), h + "attn.c_attn")  # (B, T, 3C)
            q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in qkv.split(C, dim=2))  # (B, nh, T, hs)
            if caches is not None:
                if caches[layer] is not None:
                    k = torch.cat([caches[layer][0], k], dim=2)
                    v = torch.cat([caches[layer][1], v], dim=2)
                caches[layer] = (k, v)
            y = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, C)
            x = x + self.linear(y, h + "attn.c_proj")
            m = F.gelu(self.linear(self.ln(x, h + "ln_2"), h + "mlp.c_fc"), approximate="tanh")
            x = x + self.linear(m, h + "mlp.c_proj")
        x = self.ln(x, "transformer.ln_f")
        return x @ self.p["transformer.wte.weight"].t()  # (B, T, vocab): tied head

    def loss(self, idx, targets):
        logits = self.forward(idx)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def load_gpt(job, inputs):
    weights = {}
    for i, w in enumerate(job["weights"]):
        weights[w["name"]] = inputs[i].reshape(w["shape"]).clone()
    return TwinGPT(job["config"], weights), inputs[len(job["weights"]) :]


def gpt_train_job(job, inputs):
    c = job["config"]
    model, (check_idx, check_tgt, corpus) = load_gpt(job, inputs)
    check_idx = check_idx.long().reshape(1, -1)
    check_tgt = check_tgt.long().reshape(1, -1)
    with torch.no_grad():
        result = model.loss(check_idx, check_tgt).reshape(1)
    # As wgrad's Trainer (nanoGPT's recipe): matrices decay, vectors (LayerNorm weights, biases) do not.
    params = list(model.p.values())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": c["weightDecay"]},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=c["lr"], betas=(c["beta1"], c["beta2"]))
    corpus = corpus.long()
    rng = np.random.default_rng(c["seed"])
    B, T = c["batchSize"], c["blockSize"]

    def iteration():
        starts = rng.integers(0, len(corpus) - T - 1, size=B)
        x = torch.stack([corpus[s : s + T] for s in starts])
        y = torch.stack([corpus[s + 1 : s + T + 1] for s in starts])
        loss = model.loss(x, y)
        loss.backward()
        if c["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(params, c["gradClip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()  # wgrad's trainStep reads its loss back too

    return result, iteration, ATTENTION_NOTE


def gpt_generate_job(job, inputs):
    model, (check_idx,) = load_gpt(job, inputs)
    check_idx = check_idx.long().reshape(1, -1)
    with torch.no_grad():
        result = model.forward(check_idx).reshape(-1)

    @torch.no_grad()
    def iteration():
        # Greedy decoding with a KV cache from a one-token prompt, as wgrad's generate(temperature 0).
        caches = [None] * job["config"]["nLayer"]
        pending = torch.zeros(1, 1, dtype=torch.long)
        for _ in range(job["tokens"]):
            logits = model.forward(pending, caches)
            pending = logits[:, -1, :].argmax(dim=-1, keepdim=True)
            pending.item()

    return result, iteration, ATTENTION_NOTE


JOBS = {
    "matmul": matmul_job,
    "attention": attention_job,
    "layernorm": layernorm_job,
    "cross_entropy": cross_entropy_job,
    "adamw": adamw_job,
    "gpt_train": gpt_train_job,
    "gpt_generate": gpt_generate_job,
}


def main(directory):
    with open(os.path.join(directory, "jobs.json")) as f:
        spec = json.load(f)
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    results = {}
    for job in spec["jobs"]:
        try:
            inputs = [load(directory, s) for s in job["inputs"]]
            result, iteration, note = JOBS[job["kind"]](job, inputs)
            result.detach().float().contiguous().numpy().tofile(os.path.join(directory, job["id"] + ".out.bin"))
            expected = np.fromfile(os.path.join(directory, job["id"] + ".expected.bin"), dtype=np.float64)
            wrong = mismatch(result, expected, job["rtol"], job["atol"])
            if wrong:
                results[job["id"]] = {"wrong": wrong}
                continue
            entry = {"samples": timed(iteration, job["warmup"], job["samples"])}
            if note:
                entry["note"] = note
            results[job["id"]] = entry
        except Exception as err:  # one failing job must not cost the others their results
            results[job["id"]] = {"error": f"{type(err).__name__}: {err}"}
        print(f"torch twin: {job['kind']} {job['id']} done", file=sys.stderr)
    with open(os.path.join(directory, "results.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1])
