"""preprocess(item): run on a thread pool ahead of infer; what it returns is what infer gets."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fakes import FakeEvents, FakeTasks, task

from gpu_orchestrate_worker.batches import preprocessed_batches
from gpu_orchestrate_worker.replica import serve
from gpu_orchestrate_worker.results import ResultSender
from gpu_orchestrate_worker.script import UserScript


def run_replica_loop(script: UserScript, batches: list[list[Any]]) -> list[dict[str, Any]]:
    """Feed batches to the replica's serve loop through preprocess; return each batch's result entry."""
    assert script.preprocess is not None
    tasks = FakeTasks([task("batch", number, inputs) for number, inputs in enumerate(batches)] + [task("stop")])
    events = FakeEvents()
    sender = ResultSender(events, device=0, replica=0)
    serve(preprocessed_batches(tasks, script.preprocess, threads=1), script.infer, None, sender)
    sender.close()
    return events.results()


def script_of(infer: Any, preprocess: Any) -> UserScript:
    return UserScript(path=Path("fixture.py"), setup=lambda ctx: None, infer=infer, teardown=None, preprocess=preprocess)


def decode_or_raise(item: str) -> dict[str, Any]:
    if item == "corrupt.png":
        raise ValueError(f"cannot decode {item}")
    return {"pixels": item.upper()}


def test_what_preprocess_returns_reaches_infer_in_the_batch_order() -> None:
    seen: list[list[Any]] = []

    def infer(model: Any, batch: list[Any]) -> list[Any]:
        seen.append(batch)
        return [item["pixels"] for item in batch]

    events = run_replica_loop(script_of(infer, decode_or_raise), [["a.png", "b.png", "c.png"]])
    assert seen == [[{"pixels": "A.PNG"}, {"pixels": "B.PNG"}, {"pixels": "C.PNG"}]]
    assert [outcome["result"] for outcome in events[0]["outcomes"]] == ["A.PNG", "B.PNG", "C.PNG"]


def test_a_preprocess_error_fails_only_that_item_with_its_traceback() -> None:
    def infer(model: Any, batch: list[Any]) -> list[Any]:
        return [item["pixels"] for item in batch]

    events = run_replica_loop(script_of(infer, decode_or_raise), [["a.png", "corrupt.png", "c.png"], ["corrupt.png"]])
    first, second = events[0]["outcomes"], events[1]["outcomes"]
    assert [outcome["ok"] for outcome in first] == [True, False, True]
    assert [outcome.get("result") for outcome in first] == ["A.PNG", None, "C.PNG"]
    assert first[1]["error"]["type"] == "ValueError"
    assert first[1]["error"]["message"] == "cannot decode corrupt.png"
    assert "in decode_or_raise" in first[1]["error"]["traceback"]
    # A batch whose every item failed preprocess is reported without calling infer.
    assert [outcome["ok"] for outcome in second] == [False]


def test_the_next_batch_is_preprocessed_while_infer_runs_the_current_one() -> None:
    next_batch_started = threading.Event()
    overlapped: list[bool] = []

    def preprocess(item: str) -> str:
        if item == "second":
            next_batch_started.set()
        return item

    def infer(model: Any, batch: list[Any]) -> list[Any]:
        if batch == ["first"]:
            # Returns as soon as the second batch's preprocess has begun; were the steps run one
            # after the other, it would not begin before this infer returned.
            overlapped.append(next_batch_started.wait(timeout=30))
        return batch

    run_replica_loop(script_of(infer, preprocess), [["first"], ["second"]])
    assert overlapped == [True]
