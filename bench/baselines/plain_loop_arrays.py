"""The large-results baseline: one process writing the same arrays to one file, nothing else.

    python3 plain_loop_arrays.py OUT ITEMS VALUES

Writes ITEMS float32 arrays of VALUES values each (made once, as bench/fixtures/large_results.py
makes its one array) to OUT, one write() per array, as a script that saves its own results in a
loop would. Prints {"seconds": ..., "bytes": ...}: from the first write to the file's close (no
fsync, as the gpu-orchestrate run's rate is measured before its final sync).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main() -> None:
    out, items, values = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    array = np.arange(values, dtype=np.float32)
    started = time.perf_counter()
    with open(out, "wb") as file:
        for _ in range(items):
            file.write(array)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": items * array.nbytes}))


if __name__ == "__main__":
    main()
