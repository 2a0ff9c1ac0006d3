"""Seed 002's recipe: multiprocessing.Pool.apply_async per item, the GPU chosen as i % GPUs.

    python3 pool_apply_async.py COSTS.json DEVICES

A pool of DEVICES processes takes items one at a time (dynamic), but each item runs on the GPU
its index names (GPU_ID = i % len(available_GPU) in the seed), wherever the pool put it: two
workers can wait on one GPU while another GPU idles. A GPU here is a lock held for the item's
cost (time.sleep), so it runs one item at a time as the simulated-GPU fixture does. Prints
{"makespan": seconds} from the first item's start to the last item's end, after a barrier.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time
from typing import Any

_gpus: list[Any] = []


def init(gpus: list[Any], barrier: Any) -> None:
    _gpus.extend(gpus)
    barrier.wait()


def job(index: int, cost: float) -> tuple[float, float]:
    with _gpus[index % len(_gpus)]:
        started = time.time()
        time.sleep(cost)
        return started, time.time()


def main() -> None:
    costs: list[float] = json.load(open(sys.argv[1]))
    devices = int(sys.argv[2])
    context = mp.get_context("spawn")
    gpus = [context.Lock() for _ in range(devices)]
    barrier = context.Barrier(devices)
    pool = context.Pool(devices, initializer=init, initargs=(gpus, barrier))
    results = [pool.apply_async(func=job, args=(index, cost)) for index, cost in enumerate(costs)]
    pool.close()
    pool.join()
    spans = [result.get() for result in results]
    print(json.dumps({"makespan": max(end for _, end in spans) - min(start for start, _ in spans)}))


if __name__ == "__main__":
    main()
