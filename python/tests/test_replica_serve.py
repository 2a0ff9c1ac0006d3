"""The replica's one serve loop, fed by either batch source: the task socket directly, or through preprocess."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from fakes import FakeEvents, FakeTasks, host_config, task

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.batches import BatchSource, ReadyBatch, preprocessed_batches, received_batches
from gpu_orchestrate_worker.replica import ReplicaConfig, serve

CONFIG = ReplicaConfig(host=host_config(), replica=1, generation=3, parent_pid=0)


def plain(tasks: FakeTasks) -> BatchSource:
    return received_batches(tasks)


def through_preprocess(tasks: FakeTasks) -> BatchSource:
    return preprocessed_batches(tasks, lambda item: item, threads=1)  # preprocess that changes nothing


SOURCES = pytest.mark.parametrize("source", [plain, through_preprocess], ids=["plain", "preprocess"])


def run(source: Callable[[FakeTasks], BatchSource], messages: list[bytes], infer: Callable[[Any, list[Any]], Any]) -> tuple[FakeEvents, FakeTasks]:
    tasks, events = FakeTasks(messages), FakeEvents()
    serve(source(tasks), infer, None, events, CONFIG)
    return events, tasks


def double(model: Any, batch: list[Any]) -> list[Any]:
    return [item * 2 for item in batch]


@SOURCES
def test_each_batch_gets_one_result_with_its_id_device_and_replica_in_order(source: Any) -> None:
    events, _ = run(source, [task("batch", 7, [1, 2]), task("batch", 8, [3]), task("stop")], double)
    assert [(m["kind"], m["device"], m["replica"], m["batch"]) for m in events.sent] == [("result", 1, 1, 7), ("result", 1, 1, 8)]
    assert [[outcome["result"] for outcome in m["outcomes"]] for m in events.sent] == [[2, 4], [6]]
    assert [m["batch_size_hint"] for m in events.sent] == [None, None]


@SOURCES
def test_the_loop_ends_at_the_stop_message_and_reads_no_further(source: Any) -> None:
    events, tasks = run(source, [task("batch", 0, [1]), task("stop"), task("batch", 1, [2])], double)
    assert [m["batch"] for m in events.sent] == [0]
    assert len(tasks.messages) == 1  # the batch after stop was never taken


@SOURCES
def test_an_item_that_raises_in_infer_fails_alone(source: Any) -> None:
    def infer(model: Any, batch: list[Any]) -> list[Any]:
        if "bad" in batch:
            raise ValueError("cannot read 'bad'")
        return batch

    events, _ = run(source, [task("batch", 0, ["a", "bad", "c"]), task("stop")], infer)
    assert [outcome["ok"] for outcome in events.sent[0]["outcomes"]] == [True, False, True]
    assert events.sent[0]["outcomes"][1]["error"]["message"] == "cannot read 'bad'"


@SOURCES
def test_a_batch_split_for_memory_sends_the_size_that_ran(source: Any) -> None:
    def infer(model: Any, batch: list[Any]) -> list[Any]:
        if len(batch) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return batch

    events, _ = run(source, [task("batch", 0, [1, 2, 3, 4, 5, 6, 7, 8]), task("batch", 1, [9]), task("stop")], infer)
    first, second = events.sent
    assert all(outcome["ok"] for outcome in first["outcomes"])
    assert first["batch_size_hint"] == 2
    assert second["batch_size_hint"] is None  # each batch is measured afresh


@SOURCES
def test_a_malformed_task_message_stops_the_loop_with_a_protocol_error(source: Any) -> None:
    # Only the controller writes to a task socket: a message of another version means a mismatch.
    old = protocol.PROTOCOL_VERSION - 1
    tasks, events = FakeTasks([task("batch", 0, [1]), codec.encode({"v": old, "kind": "batch", "batch": 1, "inputs": [2]}), task("stop")]), FakeEvents()
    with pytest.raises(protocol.ProtocolError, match=f"protocol version {old}"):
        serve(source(tasks), double, None, events, CONFIG)
    assert [m["batch"] for m in events.sent] == [0]  # what came before it was answered


def test_failures_before_infer_keep_their_place_among_infer_outcomes() -> None:
    failed = {"ok": False, "error": {"type": "ValueError", "message": "x", "traceback": ""}, "seconds": 0.1}
    ready = ReadyBatch(batch=0, inputs=["b", "d"], failed={0: failed, 2: failed, 4: failed})
    outcomes = ready.outcomes([{"ok": True, "result": "B"}, {"ok": True, "result": "D"}])
    assert [outcome.get("result") for outcome in outcomes] == [None, "B", None, "D", None]
    plain_batch = ReadyBatch(batch=0, inputs=[1], failed={})
    assert plain_batch.outcomes([{"ok": True, "result": 1}]) == [{"ok": True, "result": 1}]
