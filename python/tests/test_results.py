"""When a replica sends its results (results.py), and what the host learns when it dies (the running-batch marker)."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from fakes import FakeEvents, FakeTasks, bundle, task

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.batches import received_batches
from gpu_orchestrate_worker.replica import serve
from gpu_orchestrate_worker.results import MAX_HELD_BATCHES, SLOW_BATCH_SECONDS, ResultSender
from gpu_orchestrate_worker.take_back import NOT_RUNNING, TakeBacks


class Inbox:
    """A task socket the test feeds while the replica runs."""

    def __init__(self) -> None:
        self.messages: queue.Queue[bytes] = queue.Queue()

    def recv(self) -> bytes:
        return self.messages.get(timeout=10)

    def poll(self, timeout: int = 0) -> int:
        return 0 if self.messages.empty() else 1


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def echo(model: Any, batch: list[Any]) -> list[Any]:
    return batch


def test_a_result_goes_at_once_when_no_other_batch_is_here() -> None:
    # The replica would otherwise wait for a batch the controller sends only once it knows.
    tasks, events = Inbox(), FakeEvents()
    sender = ResultSender(events, device=0, replica=0, hold_seconds=60)  # the watchdog never helps here
    thread = threading.Thread(target=serve, args=(received_batches(tasks), echo, None, sender), daemon=True)
    thread.start()
    tasks.messages.put(task("batch", 0, ["a"]))
    wait_until(lambda: [entry["batch"] for entry in events.results()] == [0], "batch 0's result, sent before batch 1 came")
    tasks.messages.put(bundle((1, ["b"]), (2, ["c"])))
    wait_until(lambda: [entry["batch"] for entry in events.results()] == [0, 1, 2], "batches 1 and 2")
    tasks.messages.put(task("stop"))
    thread.join(10)
    sender.close()
    assert [[entry["batch"] for entry in message["results"]] for message in events.sent] == [[0], [1, 2]]


def test_a_slow_batch_is_sent_at_once_even_with_more_here() -> None:
    def slow_first(model: Any, batch: list[Any]) -> list[Any]:
        if batch == ["slow"]:
            time.sleep(SLOW_BATCH_SECONDS * 3)
        return batch

    events = FakeEvents()
    sender = ResultSender(events, device=0, replica=0, hold_seconds=60)
    serve(received_batches(FakeTasks([bundle((0, ["slow"]), (1, ["fast"]), (2, ["fast"])), task("stop")])), slow_first, None, sender)
    sender.close()
    assert [[entry["batch"] for entry in message["results"]] for message in events.sent] == [[0], [1, 2]]
    assert events.results()[0]["busy"] >= SLOW_BATCH_SECONDS


def test_a_held_result_does_not_wait_behind_a_batch_that_runs_long() -> None:
    # Batch 0 is quick and batch 1 is here, so 0's result is held; batch 1 then runs long. The
    # controller must hear of batch 0 meanwhile, or it would take batch 0 for the running one.
    events = FakeEvents()
    sender = ResultSender(events, device=0, replica=0, hold_seconds=0.02)
    heard_while_running: list[bool] = []

    def infer(model: Any, batch: list[Any]) -> list[Any]:
        if batch == ["long"]:
            deadline = time.monotonic() + 10
            while not events.results() and time.monotonic() < deadline:
                time.sleep(0.002)
            heard_while_running.append([entry["batch"] for entry in events.results()] == [0])
        return batch

    serve(received_batches(FakeTasks([bundle((0, ["quick"]), (1, ["long"])), task("stop")])), infer, None, sender)
    sender.close()
    assert heard_while_running == [True]
    assert [entry["batch"] for entry in events.results()] == [0, 1]


def test_a_message_holds_at_most_max_held_batches() -> None:
    events = FakeEvents()
    sender = ResultSender(events, device=0, replica=0, hold_seconds=60)
    count = MAX_HELD_BATCHES + 8
    serve(received_batches(FakeTasks([bundle(*((batch, [batch]) for batch in range(count))), task("stop")])), echo, None, sender)
    sender.close()
    assert [len(message["results"]) for message in events.sent] == [MAX_HELD_BATCHES, 8]
    assert [entry["batch"] for entry in events.results()] == list(range(count))


def test_the_marker_names_the_batch_in_infer_and_none_between_batches() -> None:
    # What the host reports when the replica dies (replica_processes.py reads the same number).
    take_backs = TakeBacks()
    seen: list[int] = []

    def infer(model: Any, batch: list[Any]) -> list[Any]:
        seen.append(take_backs.running.value)
        return batch

    take_backs.take_back(1)  # given back before it arrives: never running
    events = FakeEvents()
    sender = ResultSender(events, device=0, replica=0)
    serve(received_batches(FakeTasks([bundle((0, ["a"]), (1, ["b"]), (2, ["c"])), task("stop")]), take_backs), infer, None, sender)
    sender.close()
    assert seen == [0, 2]
    assert take_backs.running.value == NOT_RUNNING  # every result was encoded: no batch to blame


def test_results_message_is_a_map_with_every_entry_as_encoded() -> None:
    entries = [protocol.result_entry(batch, [{"ok": True, "result": batch, "seconds": 0.5}], None, 0.25) for batch in (4, 5)]
    message = codec.decode(protocol.results_message(3, 1, [codec.encode(entry) for entry in entries]))
    assert message == {"v": protocol.PROTOCOL_VERSION, "kind": "results", "device": 3, "replica": 1, "results": entries}
