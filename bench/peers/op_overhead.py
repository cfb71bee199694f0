# Peer of bench/op-overhead.ts: the same ops in PyTorch, timed the same way.
# Reads one JSON request per line ({"case": ..., "iters": N}); answers {"us": per-op microseconds}.
import json
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads())
a4 = torch.tensor([1.0, 2.0, 3.0, 4.0])
b4 = torch.tensor([1.0, 2.0, 3.0, 4.0])
a256 = torch.randn(256, 256)
b256 = torch.randn(256, 256)

for line in sys.stdin:
    req = json.loads(line)
    n = req["iters"]
    if req["case"] == "add4":
        t = time.perf_counter()
        for _ in range(n):
            c = a4 + b4
        del c
    else:
        t = time.perf_counter()
        for _ in range(n):
            c = a256 @ b256
        del c
    us = (time.perf_counter() - t) / n * 1e6
    print(json.dumps({"us": us}), flush=True)
