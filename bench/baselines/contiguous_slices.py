"""Seed 000's recipe: split the list into one contiguous slice per GPU, one process per slice.

    python3 contiguous_slices.py COSTS.json DEVICES

COSTS.json is a list of per-item costs in seconds, in input order; each item holds its process
for its cost (time.sleep, like the simulated-GPU fixture). Prints {"makespan": seconds}: from
the first item's start to the last item's end, over all processes, after a barrier so that
process start-up is not counted (as in the gpu-orchestrate runs it is compared with).
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import sys
import time
from typing import Any


def split_list_to_nested_list(items: list[Any], divider: int) -> list[list[Any]]:
    # As in the seed: stride = ceil(n / divider); slice i is items[i*stride : i*stride+stride].
    stride = int(math.ceil(len(items) / divider))
    return [items[i * stride : i * stride + stride] for i in range(divider)]


def work(costs: list[float], barrier: Any, spans: Any) -> None:
    barrier.wait()
    started = time.time()
    for cost in costs:
        time.sleep(cost)
    spans.put((started, time.time()))


def main() -> None:
    costs: list[float] = json.load(open(sys.argv[1]))
    devices = int(sys.argv[2])
    slices = split_list_to_nested_list(costs, devices)
    context = mp.get_context("spawn")
    barrier, spans = context.Barrier(devices), context.Queue()
    processes = [context.Process(target=work, args=(part, barrier, spans)) for part in slices]
    for process in processes:
        process.start()
    ended = [spans.get() for _ in processes]
    for process in processes:
        process.join()
    print(json.dumps({"makespan": max(end for _, end in ended) - min(start for start, _ in ended)}))


if __name__ == "__main__":
    main()
