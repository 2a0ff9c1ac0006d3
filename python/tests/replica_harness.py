"""A replica's serve loop and take-back listener on threads, fed through fakes of their two
sockets, for either batch source (test_take_back.py, test_take_back_bundles.py)."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

import pytest
import zmq
from fakes import FakeEvents, bundle, task

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.batches import BatchSource, preprocessed_batches, received_batches
from gpu_orchestrate_worker.replica import serve
from gpu_orchestrate_worker.results import ResultSender
from gpu_orchestrate_worker.take_back import TakeBacks, listen


class Inbox:
    """A socket the test feeds while the replica runs: recv() waits for the next message."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Any] = queue.Queue()

    def recv(self) -> bytes:
        return self.messages.get(timeout=10)

    def poll(self, timeout: int = 0) -> int:
        return 0 if self.messages.empty() else 1

    def recv_multipart(self) -> list[bytes]:
        message = self.messages.get(timeout=10)
        if isinstance(message, Exception):
            raise message
        return message


def take_back(batch: int) -> list[bytes]:
    return [codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": "take_back", "batch": batch})]  # a DEALER hears the message alone


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


SourceMaker = Callable[[Inbox, TakeBacks, list[Any]], BatchSource]


def plain(tasks: Inbox, take_backs: TakeBacks, preprocessed: list[Any]) -> BatchSource:
    return received_batches(tasks, take_backs)


def through_preprocess(tasks: Inbox, take_backs: TakeBacks, preprocessed: list[Any]) -> BatchSource:
    def preprocess(item: Any) -> Any:
        preprocessed.append(item)
        return item

    return preprocessed_batches(tasks, preprocess, 1, take_backs)


SOURCES = pytest.mark.parametrize("make_source", [plain, through_preprocess], ids=["plain", "preprocess"])


class Replica:
    """The serve loop and the take-back listener on threads, with an infer that holds the batch
    ["first"] until the test lets it go."""

    def __init__(self, make_source: SourceMaker, hold_seconds: float = 0.005) -> None:
        self.tasks, self.take_backs_in = Inbox(), Inbox()
        self.events = FakeEvents()
        self.confirmed: list[int] = []
        self.preprocessed: list[Any] = []
        self.running, self.proceed, self.listener_stopped = threading.Event(), threading.Event(), threading.Event()
        self.infer_saw: list[list[Any]] = []
        take_backs = TakeBacks()
        listen(self.take_backs_in, take_backs, self.confirmed.append, self.listener_stopped.set)
        source = make_source(self.tasks, take_backs, self.preprocessed)
        self.sender = ResultSender(self.events, device=0, replica=0, hold_seconds=hold_seconds)
        self.thread = threading.Thread(target=serve, args=(source, self.infer, None, self.sender), daemon=True)
        self.thread.start()

    def infer(self, model: Any, batch: list[Any]) -> list[Any]:
        self.infer_saw.append(list(batch))
        if batch == ["first"]:
            self.running.set()
            assert self.proceed.wait(10), "the test never let the running batch finish"
        return batch

    def push(self, batch: int, item: str) -> None:
        self.tasks.messages.put(task("batch", batch, [item]))

    def push_bundle(self, *batches: tuple[int, str]) -> None:
        self.tasks.messages.put(bundle(*((batch, [item]) for batch, item in batches)))

    def ask_back(self, batch: int) -> None:
        self.take_backs_in.messages.put(take_back(batch))

    def finish(self) -> None:
        self.proceed.set()
        self.tasks.messages.put(task("stop"))
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.sender.close()
        self.take_backs_in.messages.put(zmq.ContextTerminated())  # what the replica's context.term() does
        assert self.listener_stopped.wait(10), "the listener did not stop when its context ended"

    def results(self) -> list[int]:
        return [entry["batch"] for entry in self.events.results()]
