"""Read a run's output back into Python, arrays and bytes restored.

Each line of the JSONL output is one item. Arrays are not inlined: the line holds a reference
{"__ndarray__": {"dtype", "shape", "file", "offset"}} into the binary file beside the output
(`results.arrays` for `results.jsonl`), where the raw little-endian C-order bytes lie at
`offset`, aligned to 64 bytes. Bytes results are {"__bytes__": base64}.

    from gpu_orchestrate_worker import read_output
    for line in read_output("results.jsonl"):
        print(line["id"], line["ok"], line["result"])
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Iterator


def read_output(path: str | Path, *, mmap: bool = True) -> Iterator[dict[str, Any]]:
    """Yield each line of an output file; arrays come back as numpy arrays (memory-mapped)."""
    import numpy as np

    path = Path(path)
    opened: dict[str, Any] = {}

    def array(ref: dict[str, Any]) -> Any:
        dtype_name = ref["dtype"]
        # bfloat16 has no numpy dtype: its raw 16-bit words come back as uint16.
        dtype = np.dtype("<u2") if dtype_name == "bfloat16" else np.dtype(dtype_name).newbyteorder("<")
        file = path.parent / ref["file"]
        count = int(np.prod(ref["shape"], dtype=np.int64))
        if count == 0:
            # No bytes to read, and an .arrays file holding only empty arrays is empty: mmap refuses it.
            return np.empty(ref["shape"], dtype=dtype)
        if mmap:
            if ref["file"] not in opened:
                opened[ref["file"]] = np.memmap(file, dtype=np.uint8, mode="r")
            raw = opened[ref["file"]][ref["offset"] : ref["offset"] + count * dtype.itemsize]
            return raw.view(dtype).reshape(ref["shape"])
        return np.fromfile(file, dtype=dtype, count=count, offset=ref["offset"]).reshape(ref["shape"])

    def restore(value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and "__ndarray__" in value:
                return array(value["__ndarray__"])
            if len(value) == 1 and "__bytes__" in value:
                return base64.b64decode(value["__bytes__"])
            return {key: restore(item) for key, item in value.items()}
        if isinstance(value, list):
            return [restore(item) for item in value]
        return value

    with path.open(encoding="utf-8") as lines:
        for text in lines:
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                continue  # a torn last line from an interrupted run
            if "result" in record:
                record["result"] = restore(record["result"])
            yield record
