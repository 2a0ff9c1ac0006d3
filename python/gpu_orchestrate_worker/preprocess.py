"""The optional preprocess(item) step: CPU work (decoding, resizing) run ahead of infer.

The replica's intake starts preprocess on every item of a batch in a thread pool as soon as the
batch arrives, so the next batch is decoded while infer runs the current one (the controller's
prefetch keeps a batch waiting). Decoders such as PIL, OpenCV and torchvision's release the GIL,
so the pool uses the replica's cores.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, NamedTuple

from . import protocol


class Prepared(NamedTuple):
    """One item after preprocess: its value, or the error that preprocess raised."""

    ok: bool
    value: Any  # preprocess's return value, or the ErrorInfo when it raised
    seconds: float


def preprocess_item(preprocess: Callable[[Any], Any], item: Any) -> Prepared:
    started = time.perf_counter()
    try:
        return Prepared(True, preprocess(item), time.perf_counter() - started)
    except Exception as exc:  # the item fails alone, with its traceback; the batch goes on
        return Prepared(False, protocol.error_info(exc), time.perf_counter() - started)


class Preprocessor:
    """preprocess(item) on a thread pool: started on a batch's items as the batch arrives (see
    intake.py), cancelled for a batch that is taken back before it starts."""

    def __init__(self, preprocess: Callable[[Any], Any], workers: int) -> None:
        self._preprocess = preprocess
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="preprocess")

    def start(self, inputs: list[Any]) -> list[Future[Prepared]]:
        return [self._pool.submit(preprocess_item, self._preprocess, item) for item in inputs]

    def cancel(self, futures: list[Future[Prepared]]) -> None:
        for future in futures:
            future.cancel()  # one already running finishes; its value is dropped

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
