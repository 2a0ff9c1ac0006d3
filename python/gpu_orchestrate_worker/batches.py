"""Where a replica's batches come from: the task socket, directly or through preprocess.

The replica's serve loop (replica.serve) takes one batch source. Each source yields ReadyBatch:
what infer gets, and the items that already failed before infer (a preprocess error), at their
place in the batch. Without preprocess, the serve loop reads the task socket itself: no thread
between them, so a batch costs no more than a receive. The preprocess source reads it on a thread
(intake.py) that starts preprocess on each batch's items in a pool as the batch arrives, so the
next batch is decoded while infer runs this one. Either way a batch runs only if TakeBacks.start
says so: the controller may have taken it back (take_back.py).
"""

from __future__ import annotations

from typing import Any, Callable, Generator, NamedTuple

from . import codec, protocol
from .intake import Intake
from .preprocess import Preprocessor
from .take_back import TakeBacks

Outcome = dict[str, Any]
BatchSource = Generator["ReadyBatch", None, None]


class ReadyBatch(NamedTuple):
    batch: int  # the controller's batch id
    inputs: list[Any]  # what infer gets, in batch order: the items not failed already
    failed: dict[int, Outcome]  # place in the batch -> outcome, for items that failed before infer

    def outcomes(self, from_infer: list[Outcome]) -> list[Outcome]:
        """The whole batch's outcomes in its order: infer's, with the earlier failures in place."""
        if not self.failed:
            return from_infer
        infer_outcomes = iter(from_infer)
        size = len(self.inputs) + len(self.failed)
        return [self.failed[place] if place in self.failed else next(infer_outcomes) for place in range(size)]


def received_batches(tasks: Any, take_backs: TakeBacks | None = None) -> BatchSource:
    """Batches as they come off the task socket, until the stop message; those taken back skipped."""
    take_backs = take_backs or TakeBacks()
    while True:
        kind, batch, inputs = protocol.parse_task(codec.decode(tasks.recv()))
        if kind == "stop":
            return
        if take_backs.start(batch):
            yield ReadyBatch(batch, inputs, {})


def preprocess_workers(threads: int) -> int:
    """Threads for preprocess: the replica's share of the cores, and at least two, so one item's
    preprocess never waits behind another's when infer is the only other work."""
    return max(2, threads)


def preprocessed_batches(tasks: Any, preprocess: Callable[[Any], Any], threads: int, take_backs: TakeBacks | None = None) -> BatchSource:
    """Batches with preprocess(item) applied, started on a thread pool as soon as each arrives."""
    preprocessor = Preprocessor(preprocess, preprocess_workers(threads))
    intake = Intake(tasks, take_backs or TakeBacks(), preprocessor.start, preprocessor.cancel)
    try:
        while (arrived := intake.next()) is not None:
            batch = arrived.batch
            prepared = [future.result() for future in arrived.prepared]
            failed = {
                place: {"ok": False, "error": item.value, "seconds": item.seconds}
                for place, item in enumerate(prepared)
                if not item.ok
            }
            yield ReadyBatch(batch, [item.value for item in prepared if item.ok], failed)
    finally:
        preprocessor.close()
