"""Make a synthetic feature store for examples/match_pairs.py: keypoints and descriptors per image.

    python3 examples/make_feature_store.py STORE [--images 200] [--keypoints 512] [--dim 256] [--pairs 1000]

Shaped like what SuperPoint gives SuperGlue: for each image, keypoints (x, y) and one unit-length
descriptor per keypoint. The images look at a shared "world" of points: an image sees a window
of it, so images with close ids overlap and share points, and a point's descriptor differs
between images only by noise. That gives pairs a ground truth: STORE/point_ids.npy names the
world point of every keypoint, so a match (i, j) is right when both are the same point.

STORE/ holds (all rows of all images concatenated; image k's rows are offsets[k]:offsets[k+1]):
    keypoints.npy    float32 [rows, 2]
    descriptors.npy  float32 [rows, dim]
    offsets.npy      int64   [images + 1]
    point_ids.npy    int64   [rows]        (ground truth, for checking matches)
    pairs.jsonl      {"id": "17-19", "a": 17, "b": 19} per line: the items to match
The same arguments give the same store (numpy only, seeded).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SEED = 20261123
DESCRIPTOR_NOISE = 0.25  # relative to a unit descriptor: enough that the ratio test matters


def make_store(folder: Path, images: int, keypoints: int, dim: int, pairs: int) -> None:
    rng = np.random.default_rng(SEED)
    # Consecutive images see windows of the world that overlap by half.
    world_size = keypoints * (images + 1) // 2 + keypoints
    world = rng.standard_normal((world_size, dim)).astype(np.float32)
    world /= np.linalg.norm(world, axis=1, keepdims=True)
    descriptors, points, positions, offsets = [], [], [], [0]
    for image in range(images):
        start = image * keypoints // 2
        seen = start + rng.choice(keypoints * 2, size=keypoints, replace=False) % (world_size - start)
        noisy = world[seen] + DESCRIPTOR_NOISE * rng.standard_normal((keypoints, dim)).astype(np.float32) / np.sqrt(dim)
        descriptors.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
        points.append(seen.astype(np.int64))
        positions.append(rng.uniform(0, 640, size=(keypoints, 2)).astype(np.float32))
        offsets.append(offsets[-1] + keypoints)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "keypoints.npy", np.concatenate(positions))
    np.save(folder / "descriptors.npy", np.concatenate(descriptors).astype(np.float32))
    np.save(folder / "offsets.npy", np.asarray(offsets, dtype=np.int64))
    np.save(folder / "point_ids.npy", np.concatenate(points))
    with (folder / "pairs.jsonl").open("w", encoding="utf-8") as out:
        for index in range(pairs):
            a = int(rng.integers(0, images))
            b = min(images - 1, a + int(rng.integers(1, 4)))  # neighbours overlap; some pairs less
            if b == a:
                a, b = a - 1, a
            out.write(json.dumps({"id": f"{a}-{b}-{index}", "a": a, "b": b}) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Make a synthetic SuperPoint-like feature store for examples/match_pairs.py.")
    parser.add_argument("store", type=Path, help="the folder to write (created if needed)")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--keypoints", type=int, default=512, help="keypoints per image")
    parser.add_argument("--dim", type=int, default=256, help="descriptor length (SuperPoint: 256)")
    parser.add_argument("--pairs", type=int, default=1000, help="pairs to write to pairs.jsonl")
    args = parser.parse_args(argv)
    if args.images < 2 or args.keypoints < 2 or args.dim < 1 or args.pairs < 0:
        parser.error("need at least 2 images of 2 keypoints, a positive --dim and --pairs >= 0")
    make_store(args.store, args.images, args.keypoints, args.dim, args.pairs)
    rows = args.images * args.keypoints
    print(f"{args.store}: {args.images} images x {args.keypoints} keypoints ({rows * (args.dim + 2) * 4 / 2**20:.1f} MiB), {args.pairs} pairs in pairs.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
