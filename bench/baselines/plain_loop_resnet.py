"""The plain single-process loop that the GPU benchmark compares with: ResNet-50, batch 32.

    python3 plain_loop_resnet.py ITEMS [--device cuda:0]

Same model and inputs as bench/fixtures/resnet50.py. Prints {"items_per_s", "peak_memory_bytes"},
timed after a warm-up batch (as gpu-orchestrate's rate is timed from its first result).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torchvision

BATCH = 32


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("items", type=int)
    parser.add_argument("--device", default="cuda:0")
    args = parser.parse_args()
    device = torch.device(args.device)
    model = torchvision.models.resnet50().to(device).eval()

    def run(start: int) -> None:
        generator = torch.Generator().manual_seed(start)
        images = torch.rand(BATCH, 3, 224, 224, generator=generator).to(device, non_blocking=True)
        with torch.inference_mode():
            model(images).argmax(-1).tolist()

    run(0)  # warm-up: cuDNN picks its algorithms
    started = time.perf_counter()
    for start in range(BATCH, args.items, BATCH):
        run(start)
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    print(json.dumps({"items_per_s": (args.items - BATCH) / seconds, "peak_memory_bytes": peak}))


if __name__ == "__main__":
    main()
