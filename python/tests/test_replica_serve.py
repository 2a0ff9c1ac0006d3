"""The replica's one serve loop, fed by either batch source: the task socket directly, or through preprocess.
What it sends back is one results message for the batches finished since its last send (results.py)."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from fakes import FakeEvents, FakeTasks, bundle, task

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.batches import BatchSource, ReadyBatch, preprocessed_batches, received_batches
from gpu_orchestrate_worker.replica import serve
from gpu_orchestrate_worker.results import ResultSender


def plain(tasks: FakeTasks) -> BatchSource:
    return received_batches(tasks)


def through_preprocess(tasks: FakeTasks) -> BatchSource:
    return preprocessed_batches(tasks, lambda item: item, threads=1)  # preprocess that changes nothing


SOURCES = pytest.mark.parametrize("source", [plain, through_preprocess], ids=["plain", "preprocess"])


def run(source: Callable[[FakeTasks], BatchSource], messages: list[bytes], infer: Callable[[Any, list[Any]], Any]) -> tuple[FakeEvents, FakeTasks]:
    tasks, events = FakeTasks(messages), FakeEvents()
    sender = ResultSender(events, device=1, replica=1)
    serve(source(tasks), infer, None, sender)
    sender.close()
    return events, tasks


def double(model: Any, batch: list[Any]) -> list[Any]:
    return [item * 2 for item in batch]


@SOURCES
def test_each_batch_gets_one_entry_with_its_id_in_order_and_the_message_names_device_and_replica(source: Any) -> None:
    events, _ = run(source, [task("batch", 7, [1, 2]), task("batch", 8, [3]), task("stop")], double)
    assert [(m["kind"], m["device"], m["replica"]) for m in events.sent] == [("results", 1, 1)] * len(events.sent)
    assert [entry["batch"] for entry in events.results()] == [7, 8]
    assert [[outcome["result"] for outcome in entry["outcomes"]] for entry in events.results()] == [[2, 4], [6]]
    assert [entry["batch_size_hint"] for entry in events.results()] == [None, None]
    assert all(entry["busy"] >= 0 for entry in events.results())


def test_batches_finished_while_more_were_here_go_in_one_message() -> None:
    # Every message is here from the start: no batch waits for the controller, so no result is
    # worth a message of its own before the last. (The preprocess source's intake thread reads
    # the socket as it likes, so only this source knows exactly what is here.)
    events, _ = run(plain, [bundle((0, [1]), (1, [2]), (2, [3])), task("batch", 3, [4]), task("stop")], double)
    assert len(events.sent) == 1
    assert [entry["batch"] for entry in events.results()] == [0, 1, 2, 3]


@SOURCES
def test_the_loop_ends_at_the_stop_message_and_reads_no_further(source: Any) -> None:
    events, tasks = run(source, [task("batch", 0, [1]), task("stop"), task("batch", 1, [2])], double)
    assert [entry["batch"] for entry in events.results()] == [0]
    assert len(tasks.messages) == 1  # the batch after stop was never taken


@SOURCES
def test_an_item_that_raises_in_infer_fails_alone(source: Any) -> None:
    def infer(model: Any, batch: list[Any]) -> list[Any]:
        if "bad" in batch:
            raise ValueError("cannot read 'bad'")
        return batch

    events, _ = run(source, [task("batch", 0, ["a", "bad", "c"]), task("stop")], infer)
    outcomes = events.results()[0]["outcomes"]
    assert [outcome["ok"] for outcome in outcomes] == [True, False, True]
    assert outcomes[1]["error"]["message"] == "cannot read 'bad'"


@SOURCES
def test_a_batch_split_for_memory_sends_the_size_that_ran(source: Any) -> None:
    def infer(model: Any, batch: list[Any]) -> list[Any]:
        if len(batch) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return batch

    events, _ = run(source, [bundle((0, [1, 2, 3, 4, 5, 6, 7, 8]), (1, [9])), task("stop")], infer)
    first, second = events.results()
    assert all(outcome["ok"] for outcome in first["outcomes"])
    assert first["batch_size_hint"] == 2
    assert second["batch_size_hint"] is None  # each batch is measured afresh


@SOURCES
def test_a_malformed_task_message_stops_the_loop_with_a_protocol_error(source: Any) -> None:
    # Only the controller writes to a task socket: a message of another version means a mismatch.
    old = protocol.PROTOCOL_VERSION - 1
    tasks, events = FakeTasks([task("batch", 0, [1]), codec.encode({"v": old, "kind": "batch", "batch": 1, "inputs": [2]}), task("stop")]), FakeEvents()
    sender = ResultSender(events, device=1, replica=1)
    with pytest.raises(protocol.ProtocolError, match=f"protocol version {old}"):
        serve(source(tasks), double, None, sender)
    sender.close()  # as replica_main does before it reports the error
    assert [entry["batch"] for entry in events.results()] == [0]  # what came before it was answered


def test_failures_before_infer_keep_their_place_among_infer_outcomes() -> None:
    failed = {"ok": False, "error": {"type": "ValueError", "message": "x", "traceback": ""}, "seconds": 0.1}
    ready = ReadyBatch(batch=0, inputs=["b", "d"], failed={0: failed, 2: failed, 4: failed})
    outcomes = ready.outcomes([{"ok": True, "result": "B"}, {"ok": True, "result": "D"}])
    assert [outcome.get("result") for outcome in outcomes] == [None, "B", None, "D", None]
    plain_batch = ReadyBatch(batch=0, inputs=[1], failed={})
    assert plain_batch.outcomes([{"ok": True, "result": 1}]) == [{"ok": True, "result": 1}]
