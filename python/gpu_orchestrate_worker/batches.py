"""Where a replica's batches come from: the task socket, directly or through preprocess.

The replica's serve loop (replica.serve) takes one batch source. Each source yields ReadyBatch:
what infer gets, and the items that already failed before infer (a preprocess error), at their
place in the batch. A task message may carry several batches (protocol.py); a source hands them
out one at a time, in order. Without preprocess, the serve loop reads the task socket itself: no
thread between them, so a batch costs no more than its share of a receive. The preprocess source
reads it on a thread (intake.py) that starts preprocess on each batch's items in a pool as the
batch arrives, so the next batch is decoded while infer runs this one. Either way a batch runs
only if TakeBacks.start says so: the controller may have taken it back (take_back.py).

`waiting()` tells the serve loop whether a batch (or the stop message) is already here, so that
it can keep a finished batch's result to send with the next ones (results.py) instead of waking
the controller once per batch; `on_wait` (the serve loop sets it) is called before a source waits
for the controller, so what is held goes first (a batch that was here may have been taken back
meanwhile); `finished(batch)` says that a batch's result is out of infer's hands (the
running-batch marker is cleared: take_back.py).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Iterator, NamedTuple, Protocol

from . import codec, protocol
from .intake import Intake
from .preprocess import Preprocessor
from .take_back import TakeBacks

Outcome = dict[str, Any]


class ReadyBatch(NamedTuple):
    batch: int  # the controller's batch id
    inputs: list[Any]  # what infer gets, in batch order: the items not failed already
    failed: dict[int, Outcome]  # place in the batch -> outcome, for items that failed before infer
    taken_at: float = 0.0  # time.perf_counter() when the serve loop took it (its busy time starts)

    def outcomes(self, from_infer: list[Outcome]) -> list[Outcome]:
        """The whole batch's outcomes in its order: infer's, with the earlier failures in place."""
        if not self.failed:
            return from_infer
        infer_outcomes = iter(from_infer)
        size = len(self.inputs) + len(self.failed)
        return [self.failed[place] if place in self.failed else next(infer_outcomes) for place in range(size)]


class BatchSource(Protocol):
    on_wait: Callable[[], None] | None

    def __iter__(self) -> Iterator[ReadyBatch]: ...

    def waiting(self) -> bool:
        """Is a batch (or the stop message) here already, so that the next one needs no wait for the controller?"""
        ...

    def finished(self, batch: int) -> None:
        """The batch's result is encoded: it is no longer the running one."""
        ...

    def close(self) -> None: ...


class ReceivedBatches:
    """Batches as they come off the task socket, until the stop message; those taken back skipped."""

    def __init__(self, tasks: Any, take_backs: TakeBacks | None = None) -> None:
        self._tasks = tasks
        self._take_backs = take_backs or TakeBacks()
        self._queue: deque[tuple[int, list[Any]]] = deque()  # arrived in a message, not yet taken
        self._stopped = False
        self.on_wait: Callable[[], None] | None = None

    def __iter__(self) -> Iterator[ReadyBatch]:
        while True:
            if not self._queue:
                if self._stopped:
                    return
                if self.on_wait is not None and not self._tasks.poll(0):
                    self.on_wait()
                self._receive()
                continue
            batch, inputs = self._queue.popleft()
            if self._take_backs.start(batch):
                yield ReadyBatch(batch, inputs, {}, time.perf_counter())

    def _receive(self) -> None:
        kind, batches = protocol.parse_task(codec.decode(self._tasks.recv()))
        if kind == "stop":
            self._stopped = True
        else:
            self._queue.extend(batches)

    def waiting(self) -> bool:
        return bool(self._queue) or self._stopped or bool(self._tasks.poll(0))

    def finished(self, batch: int) -> None:
        self._take_backs.finished(batch)

    def close(self) -> None:
        pass


def received_batches(tasks: Any, take_backs: TakeBacks | None = None) -> ReceivedBatches:
    return ReceivedBatches(tasks, take_backs)


def preprocess_workers(threads: int) -> int:
    """Threads for preprocess: the replica's share of the cores, and at least two, so one item's
    preprocess never waits behind another's when infer is the only other work."""
    return max(2, threads)


class PreprocessedBatches:
    """Batches with preprocess(item) applied, started on a thread pool as soon as each arrives."""

    def __init__(self, tasks: Any, preprocess: Callable[[Any], Any], threads: int, take_backs: TakeBacks | None = None) -> None:
        self._take_backs = take_backs or TakeBacks()
        self._preprocessor = Preprocessor(preprocess, preprocess_workers(threads))
        self._intake = Intake(tasks, self._take_backs, self._preprocessor.start, self._preprocessor.cancel)
        self.on_wait: Callable[[], None] | None = None

    def __iter__(self) -> Iterator[ReadyBatch]:
        while (arrived := self._intake.next(self.on_wait)) is not None:
            taken_at = time.perf_counter()  # from here on, waiting for preprocess is this batch's time
            prepared = [future.result() for future in arrived.prepared]
            failed = {
                place: {"ok": False, "error": item.value, "seconds": item.seconds}
                for place, item in enumerate(prepared)
                if not item.ok
            }
            yield ReadyBatch(arrived.batch, [item.value for item in prepared if item.ok], failed, taken_at)

    def waiting(self) -> bool:
        return self._intake.waiting()

    def finished(self, batch: int) -> None:
        self._take_backs.finished(batch)

    def close(self) -> None:
        self._preprocessor.close()


def preprocessed_batches(tasks: Any, preprocess: Callable[[Any], Any], threads: int, take_backs: TakeBacks | None = None) -> PreprocessedBatches:
    return PreprocessedBatches(tasks, preprocess, threads, take_backs)
