"""The gpu-orchestrate script bench/shared_memory.py runs: N replicas each reading a large tensor.

--opt mode=shared: load_shared makes the tensor once per device host (shared memory);
--opt mode=own:    every replica makes its own in setup (what scripts do without load_shared);
--opt mode=none:   no tensor (the processes' own cost, for reference).
Each replica reads every page of its tensor in setup (so each maps all of it), writes
`ready-<replica>` in --opt signal=DIR, and its items wait for `release` there: the bench measures
while every replica holds its data.
"""
import os
import time
from pathlib import Path

import torch

TIMEOUT_SECONDS = 300


def _tensor(options):
    return torch.ones(int(float(options["gib"]) * 2**30) // 4, dtype=torch.float32)


def load_shared(options):
    return {"data": _tensor(options)} if options["mode"] == "shared" else {}


def setup(ctx):
    mode = ctx.options["mode"]
    data = ctx.shared["data"] if mode == "shared" else _tensor(ctx.options) if mode == "own" else torch.ones(1)
    total = float(data.sum())  # touch every page
    Path(ctx.options["signal"], f"ready-{ctx.replica}").write_text(str(os.getpid()))
    return {"data": data, "total": total, "signal": Path(ctx.options["signal"])}


def infer(model, batch):
    deadline = time.time() + TIMEOUT_SECONDS
    while not (model["signal"] / "release").exists() and time.time() < deadline:
        time.sleep(0.05)
    return [model["total"] for _ in batch]
