# Peer of bench/train-step.ts: the same decoder-only transformer (Llama layout: RMSNorm, rotary,
# grouped heads, SwiGLU, untied head) written the usual PyTorch way, loading the same initial
# weights and batch from a safetensors file (parsed by hand: no safetensors package needed).
# Protocol: one JSON request per line: {"cmd": "init", "file": ..., "config": {...}} or
# {"cmd": "run", "steps": N}; answers one JSON line.
import json
import math
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]))

DT = {"F32": torch.float32, "I64": torch.int64}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        t = torch.frombuffer(bytearray(data[8 + n + b : 8 + n + e]), dtype=DT[v["dtype"]])
        out[k] = t.reshape(v["shape"])
    return out


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, dim, heads, kv_heads):
        super().__init__()
        self.h, self.kv, self.d = heads, kv_heads, dim // heads
        self.q_proj = nn.Linear(dim, heads * self.d, bias=False)
        self.k_proj = nn.Linear(dim, kv_heads * self.d, bias=False)
        self.v_proj = nn.Linear(dim, kv_heads * self.d, bias=False)
        self.o_proj = nn.Linear(heads * self.d, dim, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.kv != self.h:
            k = k.repeat_interleave(self.h // self.kv, dim=1)
            v = v.repeat_interleave(self.h // self.kv, dim=1)
        scores = (q / math.sqrt(self.d)) @ k.transpose(-1, -2)
        scores = scores.masked_fill(mask, float("-inf"))
        out = scores.softmax(-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(B, T, self.h * self.d))


class MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["dim"])
        self.self_attn = Attention(c["dim"], c["numHeads"], c.get("numKvHeads") or c["numHeads"])
        self.post_attention_layernorm = RMSNorm(c["dim"])
        self.mlp = MLP(c["dim"], c["hiddenDim"])

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Body(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocabSize"], c["dim"])
        self.layers = nn.ModuleList([Block(c) for _ in range(c["numLayers"])])
        self.norm = RMSNorm(c["dim"])


class LM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = Body(c)
        self.lm_head = nn.Linear(c["dim"], c["vocabSize"], bias=False)
        hd = c["dim"] // c["numHeads"]
        self.inv_freq = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)).float()

    def forward(self, ids):
        T = ids.shape[1]
        freqs = torch.arange(T, dtype=torch.float32)[:, None] * self.inv_freq[None]
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.ones(T, T, dtype=torch.bool).tril().logical_not()
        h = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            h = layer(h, cos, sin, mask)
        return self.lm_head(self.model.norm(h))


state = {}
for line in sys.stdin:
    req = json.loads(line)
    if req["cmd"] == "init":
        c = req["config"]
        t = load_safetensors(req["file"])
        model = LM(c)
        model.load_state_dict({k[len("param."):]: v for k, v in t.items() if k.startswith("param.")}, strict=True)
        o = req["optim"]
        opt = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weightDecay"])
        ids = t["batch"]
        state = dict(model=model, opt=opt, inp=ids[:, :-1].contiguous(), tgt=ids[:, 1:].contiguous(), V=c["vocabSize"])
        print(json.dumps({"ok": True, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    else:
        s = state
        ms, losses = [], []
        for _ in range(req["steps"]):
            t0 = time.perf_counter()
            logits = s["model"](s["inp"])
            loss = F.cross_entropy(logits.reshape(-1, s["V"]), s["tgt"].reshape(-1))
            loss.backward()
            s["opt"].step()
            s["opt"].zero_grad(set_to_none=True)
            losses.append(loss.item())
            ms.append((time.perf_counter() - t0) * 1e3)
        print(json.dumps({"ms": ms, "losses": losses}), flush=True)
