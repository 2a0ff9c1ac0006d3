"""Taking back a batch that waits in a replica's intake: never one that started, each confirmed once."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

import pytest
from fakes import FakeEvents, host_config, task

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.batches import BatchSource, preprocessed_batches, received_batches
from gpu_orchestrate_worker.replica import ReplicaConfig, serve

CONFIG = ReplicaConfig(host=host_config(), replica=0, generation=0, parent_pid=0)


class GatedTasks:
    """A task socket the test feeds while the replica runs: recv() waits for the next message."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[bytes] = queue.Queue()

    def recv(self) -> bytes:
        return self.inbox.get(timeout=10)

    def push(self, kind: str, batch: int = 0, inputs: list[Any] | None = None) -> None:
        if kind == "take_back":
            self.inbox.put(codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": "take_back", "batch": batch}))
        else:
            self.inbox.put(task(kind, batch, inputs))


SourceMaker = Callable[[GatedTasks, Callable[[int], None]], BatchSource]
SOURCES = pytest.mark.parametrize(
    "make_source",
    [
        lambda tasks, confirm: received_batches(tasks, confirm),
        lambda tasks, confirm: preprocessed_batches(tasks, lambda item: item, 1, confirm),
    ],
    ids=["plain", "preprocess"],
)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class Replica:
    """The serve loop on a thread, with an infer that holds batch 0 until the test lets it go."""

    def __init__(self, make_source: SourceMaker) -> None:
        self.tasks = GatedTasks()
        self.events = FakeEvents()
        self.confirmed: list[int] = []
        self.running = threading.Event()
        self.proceed = threading.Event()
        self.infer_saw: list[list[Any]] = []
        source = make_source(self.tasks, self.confirmed.append)
        self.thread = threading.Thread(target=serve, args=(source, self.infer, None, self.events, CONFIG), daemon=True)
        self.thread.start()

    def infer(self, model: Any, batch: list[Any]) -> list[Any]:
        self.infer_saw.append(list(batch))
        if batch == ["first"]:
            self.running.set()
            assert self.proceed.wait(10), "the test never let the running batch finish"
        return batch

    def finish(self) -> None:
        self.proceed.set()
        self.tasks.push("stop")
        self.thread.join(10)
        assert not self.thread.is_alive()

    def results(self) -> list[int]:
        return [message["batch"] for message in self.events.sent if message["kind"] == "result"]


@SOURCES
def test_a_waiting_batch_is_taken_back_confirmed_once_and_never_run(make_source: SourceMaker) -> None:
    replica = Replica(make_source)
    replica.tasks.push("batch", 0, ["first"])
    replica.tasks.push("batch", 1, ["second"])
    assert replica.running.wait(10)
    wait_until(lambda: replica.tasks.inbox.empty(), "the intake to take batch 1 off the socket")
    replica.tasks.push("take_back", 1)
    replica.tasks.push("take_back", 1)  # asked twice: confirmed once
    wait_until(lambda: replica.tasks.inbox.empty(), "the intake to read the take-backs")
    wait_until(lambda: replica.confirmed == [1], "the confirmation")
    replica.finish()
    assert replica.confirmed == [1]
    assert replica.results() == [0]
    assert replica.infer_saw == [["first"]]


@SOURCES
def test_the_running_batch_is_never_taken_back_its_result_follows(make_source: SourceMaker) -> None:
    replica = Replica(make_source)
    replica.tasks.push("batch", 0, ["first"])
    assert replica.running.wait(10)
    replica.tasks.push("take_back", 0)
    replica.tasks.push("take_back", 99)  # a batch this replica never had
    wait_until(lambda: replica.tasks.inbox.empty(), "the intake to read the take-backs")
    time.sleep(0.05)  # room for a wrong confirmation to be sent
    replica.finish()
    assert replica.confirmed == []
    assert replica.results() == [0]


@SOURCES
def test_batches_not_taken_back_run_in_the_order_they_came(make_source: SourceMaker) -> None:
    replica = Replica(make_source)
    for batch, item in enumerate(["first", "b", "c", "d"]):
        replica.tasks.push("batch", batch, [item])
    assert replica.running.wait(10)
    wait_until(lambda: replica.tasks.inbox.empty(), "the intake to take every batch")
    replica.tasks.push("take_back", 2)
    wait_until(lambda: replica.confirmed == [2], "the confirmation")
    replica.finish()
    assert replica.results() == [0, 1, 3]
    assert replica.infer_saw == [["first"], ["b"], ["d"]]


def test_a_socket_error_in_the_intake_reaches_the_serve_loop() -> None:
    class BrokenTasks:
        def recv(self) -> bytes:
            raise RuntimeError("the socket is gone")

    with pytest.raises(RuntimeError, match="the socket is gone"):
        serve(received_batches(BrokenTasks()), lambda model, batch: batch, None, FakeEvents(), CONFIG)
