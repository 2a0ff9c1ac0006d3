"""What load_shared may return: tensors and arrays move to shared memory; anything else is named."""

from __future__ import annotations

import pickle
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np
import pytest
import torch

from gpu_orchestrate_worker.shared import SharedDataError, share, unwrap


def test_tensors_and_arrays_are_moved_to_shared_memory_and_come_back_as_given() -> None:
    table = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    ids = np.arange(4, dtype=np.int32)[::2]  # not contiguous: made so before sharing
    shared = share({"table": table, "nested": {"ids": ids, "pairs": [(1, "a"), None]}, "name": "store", "scale": 0.5})
    assert shared["table"].is_shared()
    assert shared["nested"]["ids"].tensor.is_shared()
    restored = unwrap(shared)
    assert torch.equal(restored["table"], table)
    assert isinstance(restored["nested"]["ids"], np.ndarray)
    np.testing.assert_array_equal(restored["nested"]["ids"], [0, 2])
    assert restored["nested"]["pairs"] == [(1, "a"), None]
    assert (restored["name"], restored["scale"]) == ("store", 0.5)


def test_a_tensor_already_in_shared_memory_is_not_copied_again() -> None:
    tensor = torch.zeros(8).share_memory_()
    assert share({"t": tensor})["t"].untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr()


def test_the_numpy_view_a_replica_gets_is_the_shared_memory_itself() -> None:
    shared = share({"ids": np.zeros(4, dtype=np.int64)})
    view = unwrap(shared)["ids"]
    view[1] = 7  # what one replica writes...
    assert int(shared["ids"].tensor[1]) == 7  # ...is in the storage every replica maps


def test_to_a_spawned_child_only_a_handle_travels_not_the_data() -> None:
    import torch.multiprocessing  # noqa: F401  registers torch's reductions with ForkingPickler

    big = share({"t": torch.ones(1_000_000)})  # 4 MB of data
    assert len(ForkingPickler.dumps(big)) < 10_000
    # Plain pickle (what a copy would cost) carries all of it.
    assert len(pickle.dumps({"t": torch.ones(1_000_000)})) > 4_000_000


@pytest.mark.parametrize(
    "value, where, what",
    [
        (torch.nn.Linear(2, 2), "load_shared()", "torch.nn.modules.linear.Linear"),
        ({"model": {"layers": [1, object()]}}, "load_shared()['model']['layers'][1]", "builtins.object"),
        ({1: torch.zeros(1)}, "load_shared()", "the key 1 (int)"),
        ({"names": np.array(["a", None], dtype=object)}, "load_shared()['names']", "dtype object"),
    ],
)
def test_what_cannot_be_shared_is_named_with_its_place(value: Any, where: str, what: str) -> None:
    with pytest.raises(SharedDataError) as caught:
        share(value)
    message = str(caught.value)
    assert message.startswith(where)
    assert what in message
