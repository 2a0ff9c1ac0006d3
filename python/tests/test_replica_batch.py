"""One batch in a replica: per-item outcomes, failures isolated to the items that cause them."""

from __future__ import annotations

from typing import Any

import numpy as np

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.replica import run_batch
from gpu_orchestrate_worker.results import encode_entry


def double(model: Any, batch: list[Any]) -> list[Any]:
    return [item * 2 for item in batch]


def read_or_raise(model: Any, batch: list[Any]) -> list[Any]:
    for item in batch:
        if item == "bad":
            raise ValueError(f"cannot decode {item!r}")
    return [item.upper() for item in batch]


def test_a_good_infer_gives_ok_outcomes_in_order() -> None:
    outcomes = run_batch(double, None, [3, 1, 2])
    assert [outcome["ok"] for outcome in outcomes] == [True, True, True]
    assert [outcome["result"] for outcome in outcomes] == [6, 2, 4]
    assert all(isinstance(outcome["seconds"], float) and outcome["seconds"] >= 0 for outcome in outcomes)


def test_the_model_from_setup_reaches_infer() -> None:
    outcomes = run_batch(lambda model, batch: [model["bias"] + item for item in batch], {"bias": 10}, [1, 2])
    assert [outcome["result"] for outcome in outcomes] == [11, 12]


def test_only_the_items_that_raise_fail_and_the_rest_keep_their_order() -> None:
    inputs = ["a", "bad", "c", "d", "e", "bad", "g"]
    outcomes = run_batch(read_or_raise, None, inputs)
    assert len(outcomes) == len(inputs)
    assert [outcome["ok"] for outcome in outcomes] == [item != "bad" for item in inputs]
    assert [outcome.get("result") for outcome in outcomes] == ["A", None, "C", "D", "E", None, "G"]
    for failed in (outcomes[1], outcomes[5]):
        assert failed["error"]["type"] == "ValueError"
        assert failed["error"]["message"] == "cannot decode 'bad'"
        # The user's own frame is in the traceback, where the error was raised.
        assert "in read_or_raise" in failed["error"]["traceback"]
        assert failed["error"]["traceback"].rstrip().endswith("ValueError: cannot decode 'bad'")
        assert "result" not in failed


def test_a_batch_where_every_item_fails_fails_every_item() -> None:
    outcomes = run_batch(read_or_raise, None, ["bad", "bad", "bad"])
    assert [outcome["ok"] for outcome in outcomes] == [False, False, False]


def test_too_many_results_fail_with_both_lengths_named() -> None:
    outcomes = run_batch(lambda model, batch: batch + batch, None, ["only"])
    assert outcomes[0]["ok"] is False
    assert outcomes[0]["error"]["type"] == "InferContractError"
    assert "2 results for a batch of 1" in outcomes[0]["error"]["message"]


def test_a_result_missing_for_one_item_fails_that_item_alone() -> None:
    # An infer that silently drops what it cannot handle: the batch is split until the item
    # whose result is missing stands alone, and only it is failed.
    outcomes = run_batch(lambda model, batch: [item for item in batch if item != "skip"], None, ["a", "skip", "c", "d"])
    assert [outcome["ok"] for outcome in outcomes] == [True, False, True, True]
    assert [outcome.get("result") for outcome in outcomes] == ["a", None, "c", "d"]
    assert "0 results for a batch of 1" in outcomes[1]["error"]["message"]


def test_a_result_that_is_not_a_list_is_named() -> None:
    outcomes = run_batch(lambda model, batch: {"labels": batch}, None, ["x"])
    assert outcomes[0]["ok"] is False
    assert "returned a dict for a batch of 1" in outcomes[0]["error"]["message"]


def test_a_result_that_cannot_be_encoded_fails_alone() -> None:
    embedding = np.arange(4, dtype=np.float32)
    outcomes = run_batch(lambda model, batch: batch, None, [1, {"labels": {"cat", "dog"}}, 2**64, {"embedding": embedding}])
    assert all(outcome["ok"] for outcome in outcomes)  # infer itself did nothing wrong

    sent = codec.decode(encode_entry(protocol.result_entry(7, outcomes)))
    assert sent["batch"] == 7
    first, as_set, too_big, with_array = sent["outcomes"]
    assert first["ok"] is True and first["result"] == 1
    assert as_set["ok"] is False
    assert as_set["error"]["type"] == "TypeError"
    assert as_set["error"]["message"].startswith("the result cannot be sent to the controller: a set cannot be sent")
    assert too_big["ok"] is False
    assert too_big["error"]["type"] == "OverflowError"
    assert str(2**64) in too_big["error"]["message"]
    assert with_array["ok"] is True
    assert np.array_equal(with_array["result"]["embedding"], embedding)
    assert with_array["result"]["embedding"].dtype == np.float32


def test_a_result_entry_that_encodes_is_sent_unchanged() -> None:
    outcomes = run_batch(double, None, [1, 2])
    entry = protocol.result_entry(9, outcomes, batch_size_hint=None, busy=0.25)
    assert codec.decode(encode_entry(entry)) == entry
