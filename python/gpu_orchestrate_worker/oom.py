"""Recognising and recovering from device out-of-memory errors inside a replica."""

from __future__ import annotations

import gc
import sys


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (torch 1.13+), or the older RuntimeError "CUDA out of memory"."""
    torch = sys.modules.get("torch")
    oom_class = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch else None
    if oom_class is not None and isinstance(exc, oom_class):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc)


def free_device_memory() -> None:
    """Drop what the failed call left behind, so the retry of a smaller batch has room.

    The caller must not keep the exception object alive (its traceback holds the frames, and
    those hold the tensors): collect after the except block has ended.
    """
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
