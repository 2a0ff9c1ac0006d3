"""The optional preprocess(item) step: CPU work (decoding, resizing) run ahead of infer.

A receiving thread takes each batch off the replica's task socket as soon as the controller
sends it and starts preprocess on every item in a thread pool, so the next batch is decoded
while infer runs the current one (the controller's prefetch keeps a batch waiting). Decoders
such as PIL, OpenCV and torchvision's release the GIL, so the pool uses the replica's cores.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, NamedTuple

from . import codec, protocol


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


class PreparedBatches:
    """Batches from the task socket with preprocess already started on their items.

    Only the receiving thread touches the socket after this starts (zmq sockets are not
    thread-safe); it stops by itself after the stop message or a malformed one.
    """

    _STOP = object()

    def __init__(self, tasks: Any, preprocess: Callable[[Any], Any], workers: int) -> None:
        self._tasks = tasks
        self._preprocess = preprocess
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="preprocess")
        self._received: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._receive, name="receive-batches", daemon=True).start()

    def _receive(self) -> None:
        while True:
            try:
                kind, batch, inputs = protocol.parse_task(codec.decode(self._tasks.recv()))
            except (protocol.ProtocolError, ValueError) as exc:
                self._received.put(exc)
                return
            if kind == "stop":
                self._received.put(self._STOP)
                return
            futures = [self._pool.submit(preprocess_item, self._preprocess, item) for item in inputs]
            self._received.put((batch, futures))

    def next(self) -> tuple[int, list[Future[Prepared]]] | None:
        """The next batch id and its items' futures; None once told to stop. Raises what made a
        message unreadable (ProtocolError or ValueError)."""
        got = self._received.get()
        if got is self._STOP:
            return None
        if isinstance(got, Exception):
            raise got
        return got

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
