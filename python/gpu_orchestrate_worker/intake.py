"""A replica's intake: its batches, taken off the task socket as they arrive, until one starts.

A receiving thread moves every message off the replica's task socket at once, so a batch that
waits behind the running one waits here, in this process, where the controller can take it back:
when another replica runs out of work, the controller sends `take_back` for a batch that may not
have started. The thread removes it if the serve loop has not taken it, and confirms with a
`taken_back` event; a batch the serve loop has taken is never given back, its result follows. The
lock makes the two exclusive, so no item runs twice and each is written once.

`prepare` (the preprocess step) runs on each batch as it arrives, so its items are decoded while
infer runs the batch before; a batch taken back has its preparation cancelled.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, NamedTuple

from . import codec, protocol


class Arrived(NamedTuple):
    batch: int
    inputs: list[Any]
    prepared: Any  # what `prepare` returned for the inputs, or None without it


class Intake:
    """Only the receiving thread touches the task socket, and only it sends `taken_back` (on a
    socket of its own: zmq sockets are not thread-safe). It stops after the stop message, or at a
    malformed message or a socket error, which next() then raises in the serve loop.

    Batches reach the serve loop through a SimpleQueue (its blocking get is C code, cheaper per
    batch than a Condition); `_waiting` holds the ids that arrived and were not taken, and the
    lock makes taking a batch and giving it back exclusive.
    """

    _STOP = object()

    def __init__(
        self,
        tasks: Any,
        send_taken_back: Callable[[int], None],
        prepare: Callable[[list[Any]], Any] | None = None,
        cancel: Callable[[Any], None] | None = None,
    ) -> None:
        self._tasks = tasks
        self._send_taken_back = send_taken_back
        self._prepare = prepare
        self._cancel = cancel
        self._arrived: queue.SimpleQueue[Any] = queue.SimpleQueue()  # Arrived, then _STOP or an exception
        self._waiting: dict[int, Arrived] = {}  # arrived, not yet taken by the serve loop
        self._lock = threading.Lock()
        threading.Thread(target=self._receive, name="receive-batches", daemon=True).start()

    def _receive(self) -> None:
        while True:
            try:
                kind, batch, inputs = protocol.parse_task(codec.decode(self._tasks.recv()))
            except Exception as exc:  # a malformed message, or the socket failed: next() raises it
                self._arrived.put(exc)
                return
            if kind == "stop":
                self._arrived.put(self._STOP)
                return
            if kind == "take_back":
                self._take_back(batch)
                continue
            arrived = Arrived(batch, inputs, self._prepare(inputs) if self._prepare is not None else None)
            with self._lock:
                self._waiting[batch] = arrived
            self._arrived.put(arrived)

    def _take_back(self, batch: int) -> None:
        with self._lock:
            found = self._waiting.pop(batch, None)
        if found is None:
            return  # started (or never here): its result is, or will be, on its way
        if self._cancel is not None:
            self._cancel(found.prepared)
        self._send_taken_back(batch)

    def next(self) -> Arrived | None:
        """The next batch, taken for good (it can no longer be taken back); None once told to stop."""
        while True:
            entry = self._arrived.get()
            if entry is self._STOP:
                return None
            if isinstance(entry, Exception):
                raise entry
            with self._lock:
                if self._waiting.pop(entry.batch, None) is not None:
                    return entry
            # taken back before the serve loop reached it: skip it
