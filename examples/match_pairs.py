"""Match image pairs against a shared feature store: the SuperGlue-shaped job, to copy and adapt.

    python3 examples/make_feature_store.py store/            # or your own SuperPoint features
    gpu-orchestrate --script examples/match_pairs.py --inputs store/pairs.jsonl \\
        --output matches.jsonl --opt store=store/ --workers-per-gpu auto

The store (keypoints and descriptors of every image, see make_feature_store.py for the layout)
is loaded once per device host by load_shared and shared by all of that host's replicas: with
a 12 GB store and 4 replicas on a GPU, that is 12 GB of RAM, not 48. Each item is a pair
{"a": image id, "b": image id}; infer matches the pair on the device by mutual nearest
neighbours with Lowe's ratio test (the matcher SuperGlue is compared against; put your
SuperGlue model in setup and call it in `match` to use it instead). Each result is

    {"matches": int32 array [n, 2] (keypoint index in a, in b),
     "scores": float32 array [n] (descriptor similarity), "count": n}

Options (--opt key=value):
    store=DIR      the feature store (required)
    ratio=0.8      Lowe's ratio: keep a match when best distance < ratio x second best
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

STORE_FILES = ("keypoints", "descriptors", "offsets")


def load_shared(options: dict[str, str]) -> dict[str, torch.Tensor]:
    """Once per device host: the whole store, as tensors gpu-orchestrate puts in shared memory."""
    if "store" not in options:
        raise ValueError("no feature store given: pass --opt store=DIR (make one with examples/make_feature_store.py)")
    folder = Path(options["store"])
    missing = [name for name in STORE_FILES if not (folder / f"{name}.npy").is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(f'{name}.npy' for name in missing)}: is it a feature store made by make_feature_store.py?")
    return {name: torch.from_numpy(np.load(folder / f"{name}.npy")) for name in STORE_FILES}


def setup(ctx: Any) -> dict[str, Any]:
    # ctx.shared holds views of the host's shared memory: slicing them copies nothing.
    return {"store": ctx.shared, "device": ctx.device, "ratio": float(ctx.options.get("ratio", "0.8"))}


def descriptors_of(model: dict[str, Any], image: int) -> torch.Tensor:
    offsets = model["store"]["offsets"]
    if not 0 <= image < len(offsets) - 1:
        raise IndexError(f"image id {image} is not in the store (it holds ids 0 to {len(offsets) - 2})")
    start, end = int(offsets[image]), int(offsets[image + 1])
    return model["store"]["descriptors"][start:end].to(model["device"], non_blocking=True)


def match(a: torch.Tensor, b: torch.Tensor, ratio: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mutual nearest neighbours that pass the ratio test; (index pairs [n, 2], similarities [n])."""
    similarity = a @ b.T  # unit descriptors: distance^2 = 2 - 2 * similarity
    distance = (2 - 2 * similarity).clamp_min(0).sqrt()
    best_two = distance.topk(2, dim=1, largest=False)
    nearest_in_b = best_two.indices[:, 0]
    nearest_in_a = distance.argmin(dim=0)
    rows = torch.arange(a.shape[0], device=a.device)
    keep = (nearest_in_a[nearest_in_b] == rows) & (best_two.values[:, 0] < ratio * best_two.values[:, 1])
    pairs = torch.stack([rows[keep], nearest_in_b[keep]], dim=1)
    return pairs, similarity[rows[keep], nearest_in_b[keep]]


def infer(model: dict[str, Any], batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    with torch.inference_mode():
        for pair in batch:
            pairs, scores = match(descriptors_of(model, int(pair["a"])), descriptors_of(model, int(pair["b"])), model["ratio"])
            results.append({"matches": pairs.to(torch.int32).cpu(), "scores": scores.float().cpu(), "count": int(pairs.shape[0])})
    return results
