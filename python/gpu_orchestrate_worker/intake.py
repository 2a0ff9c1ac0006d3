"""The preprocess source's intake: batches taken off the task socket by a thread, as they arrive.

With a preprocess step, a batch's items must start preprocessing the moment the batch arrives, so
they are decoded while infer runs the batch before; the serve loop, busy in infer, cannot be the
one to read the socket then. So a receiving thread reads it, starts `prepare` on each batch and
hands the batch to the serve loop through a SimpleQueue (its blocking get is C code). Without
preprocess there is nothing to overlap, and the serve loop reads the socket itself (batches.py).

Whether a batch runs is still the serve loop's call (TakeBacks.start, when it takes the batch
from here); a batch taken back while it waits has its preparation cancelled at once.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, NamedTuple

from . import codec, protocol
from .take_back import TakeBacks


class Arrived(NamedTuple):
    batch: int
    inputs: list[Any]
    prepared: Any  # what `prepare` returned for the inputs


class Intake:
    """Only the receiving thread touches the task socket. It stops after the stop message, or at a
    malformed message or a socket error, which next() then raises in the serve loop."""

    _STOP = object()

    def __init__(self, tasks: Any, take_backs: TakeBacks, prepare: Callable[[list[Any]], Any], cancel: Callable[[Any], None]) -> None:
        self._tasks = tasks
        self._take_backs = take_backs
        self._prepare = prepare
        self._cancel = cancel
        self._arrived: queue.SimpleQueue[Any] = queue.SimpleQueue()  # Arrived, then _STOP or an exception
        self._waiting: dict[int, Arrived] = {}  # handed over, not yet taken by the serve loop
        self._lock = threading.Lock()
        take_backs.on_taken_back(self._taken_back)
        threading.Thread(target=self._receive, name="receive-batches", daemon=True).start()

    def _receive(self) -> None:
        while True:
            try:
                kind, batches = protocol.parse_task(codec.decode(self._tasks.recv()))
            except Exception as exc:  # a malformed message, or the socket failed: next() raises it
                self._arrived.put(exc)
                return
            if kind == "stop":
                self._arrived.put(self._STOP)
                return
            for batch, inputs in batches:  # one message may carry several: each starts at once
                # A batch already taken back (its take-back came first) is not prepared; one taken
                # back between this check and the store below is prepared in vain, never run.
                prepared = None if self._take_backs.is_taken(batch) else self._prepare(inputs)
                arrived = Arrived(batch, inputs, prepared)
                with self._lock:
                    self._waiting[batch] = arrived
                self._arrived.put(arrived)

    def _taken_back(self, batch: int) -> None:
        with self._lock:
            found = self._waiting.pop(batch, None)
        if found is not None and found.prepared is not None:
            self._cancel(found.prepared)

    def waiting(self) -> bool:
        """Has a batch (or the stop message) arrived that the serve loop has not taken yet?"""
        return not self._arrived.empty()

    def next(self, on_wait: Callable[[], None] | None = None) -> Arrived | None:
        """The next batch to run; None once told to stop. `on_wait` is called before waiting for one."""
        while True:
            if on_wait is not None and self._arrived.empty():
                on_wait()
            entry = self._arrived.get()
            if entry is self._STOP:
                return None
            if isinstance(entry, Exception):
                raise entry
            with self._lock:
                self._waiting.pop(entry.batch, None)
            if self._take_backs.start(entry.batch):
                return entry
            if entry.prepared is not None:
                self._cancel(entry.prepared)  # taken back before the serve loop reached it
