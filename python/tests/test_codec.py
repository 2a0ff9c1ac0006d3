"""The wire format: what a replica's results become after a trip through msgpack."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest
import torch

from gpu_orchestrate_worker import codec
from gpu_orchestrate_worker.codec import DTYPES, WireArray, decode, encode

NUMPY_DTYPES = sorted(DTYPES - {"bfloat16"})


def round_trip(value: Any) -> Any:
    return decode(encode(value))


def random_array(dtype_name: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Arbitrary bit patterns (NaN payloads, subnormals, negative zero): only exact bytes pass."""
    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(seed)
    count = int(np.prod(shape))
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    raw = rng.integers(0, 256, size=count * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)


def test_nested_maps_lists_and_scalars_come_back_equal() -> None:
    value = {
        "boxes": [{"label": "cat", "score": 0.875, "xyxy": [1, 2, 30, 40]}, {"label": None, "ok": False}],
        "count": 2,
        "nested": {"deeper": {"deepest": [[], {}, [1.5, -0.0, True]]}},
        7: "an integer key",
    }
    assert round_trip(value) == value


def test_a_tuple_comes_back_as_a_list() -> None:
    assert round_trip({"xy": (3, 4)}) == {"xy": [3, 4]}


def test_unicode_strings_and_keys_are_preserved() -> None:
    value = {"étiquette": "chat 🐈", "中文": ["世界", "\u0000nul", "e\u0301"]}
    assert round_trip(value) == value


def test_bytes_come_back_as_bytes_not_str() -> None:
    data = bytes(range(256))
    decoded = round_trip({"png": data, "empty": b""})
    assert decoded == {"png": data, "empty": b""}
    assert isinstance(decoded["png"], bytes)


@pytest.mark.parametrize("number", [0, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1])
def test_integers_across_the_64_bit_range_are_exact(number: int) -> None:
    decoded = round_trip(number)
    assert decoded == number
    assert type(decoded) is int


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30])
def test_integers_beyond_64_bits_are_refused_with_the_reason(number: int) -> None:
    with pytest.raises(OverflowError) as caught:
        encode({"id": number})
    assert str(number) in str(caught.value)
    assert "64 bits" in str(caught.value)


@pytest.mark.parametrize("dtype_name", NUMPY_DTYPES)
def test_numpy_arrays_keep_dtype_shape_and_exact_bytes(dtype_name: str) -> None:
    array = random_array(dtype_name, (3, 5))
    decoded = round_trip({"array": array})["array"]
    assert isinstance(decoded, np.ndarray)
    assert decoded.dtype == np.dtype(dtype_name)
    assert decoded.shape == (3, 5)
    assert decoded.tobytes() == array.tobytes()


@pytest.mark.parametrize("dtype_name", NUMPY_DTYPES)
def test_non_contiguous_arrays_arrive_as_their_c_ordered_values(dtype_name: str) -> None:
    base = random_array(dtype_name, (4, 6), seed=1)
    for view in (base[:, ::2], base.T, base[::-1, 1:5]):
        assert not view.flags.c_contiguous
        decoded = round_trip(view)
        assert decoded.dtype == view.dtype
        assert decoded.shape == view.shape
        assert decoded.tobytes() == np.ascontiguousarray(view).tobytes()


@pytest.mark.parametrize("dtype_name", [name for name in NUMPY_DTYPES if np.dtype(name).itemsize > 1])
def test_big_endian_arrays_arrive_with_the_same_values(dtype_name: str) -> None:
    array = random_array(dtype_name, (2, 3), seed=2)
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    assert big_endian.tobytes() != array.tobytes()  # the input really is byte-swapped
    decoded = round_trip(big_endian)
    assert decoded.dtype.name == dtype_name
    assert decoded.shape == (2, 3)
    # Same values, bit for bit (NaN payloads included), in little-endian order.
    assert decoded.astype(decoded.dtype.newbyteorder("<")).tobytes() == array.tobytes()


def test_zero_dimensional_and_empty_arrays_keep_their_shapes() -> None:
    decoded = round_trip({"scalar": np.array(2.5, dtype=np.float64), "empty": np.zeros((0, 4), dtype=np.int16), "flat": np.array([], dtype=np.uint8)})
    assert decoded["scalar"].shape == () and decoded["scalar"].dtype == np.float64 and decoded["scalar"][()] == 2.5
    assert decoded["empty"].shape == (0, 4) and decoded["empty"].dtype == np.int16
    assert decoded["flat"].shape == (0,) and decoded["flat"].dtype == np.uint8


def test_numpy_scalars_become_plain_python_numbers() -> None:
    decoded = round_trip([np.float32(1.5), np.int64(-3), np.uint64(2**64 - 1), np.bool_(True)])
    assert decoded == [1.5, -3, 2**64 - 1, True]
    assert [type(v) for v in decoded] == [float, int, int, bool]


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_torch_tensors_arrive_as_numpy_arrays(dtype: torch.dtype) -> None:
    tensor = (torch.arange(12) - 6).reshape(3, 4).to(dtype)
    decoded = round_trip({"logits": tensor})["logits"]
    assert isinstance(decoded, np.ndarray)
    assert decoded.dtype == np.dtype(str(dtype).removeprefix("torch."))
    assert decoded.shape == (3, 4)
    assert decoded.tobytes() == tensor.numpy().tobytes()


def test_tensors_that_need_grad_or_are_views_are_sent_as_their_values() -> None:
    weights = torch.randn(3, 4, requires_grad=True)
    decoded = round_trip([weights, weights.detach().T])
    assert np.array_equal(decoded[0], weights.detach().numpy())
    assert np.array_equal(decoded[1], weights.detach().numpy().T)


def test_bfloat16_tensors_arrive_as_wire_arrays_with_their_exact_bits() -> None:
    values = torch.tensor([[1.0, -2.5, float("nan")], [float("inf"), -0.0, 1e-40]], dtype=torch.bfloat16)
    decoded = round_trip({"embedding": values})["embedding"]
    assert isinstance(decoded, WireArray)
    assert decoded.dtype == "bfloat16"
    assert decoded.shape == (2, 3)
    assert decoded.data == values.view(torch.int16).numpy().tobytes()
    # A WireArray travels on unchanged, e.g. when it is relayed.
    assert round_trip(decoded) == decoded
    # And the bits are the tensor's: they rebuild it exactly.
    rebuilt = torch.frombuffer(bytearray(decoded.data), dtype=torch.bfloat16).reshape(decoded.shape)
    assert torch.equal(rebuilt.view(torch.int16), values.view(torch.int16))


def test_a_non_contiguous_bfloat16_tensor_is_sent_in_c_order() -> None:
    values = torch.arange(6, dtype=torch.float32).reshape(2, 3).to(torch.bfloat16).T
    decoded = round_trip(values)
    assert decoded.shape == (3, 2)
    assert decoded.data == values.contiguous().view(torch.int16).numpy().tobytes()


class Detection:
    pass


@pytest.mark.parametrize("value", [{1, 2}, Detection(), {"nested": [frozenset()]}], ids=["set", "custom class", "nested frozenset"])
def test_an_unsupported_object_says_what_can_be_returned(value: Any) -> None:
    with pytest.raises(TypeError) as caught:
        encode(value)
    message = str(caught.value)
    assert "cannot be sent" in message
    assert "lists, dicts, strings, numbers" in message and "numpy arrays or tensors" in message


def test_an_array_of_an_unsupported_dtype_names_the_dtypes_that_work() -> None:
    with pytest.raises(TypeError) as caught:
        encode(np.array(["a", "b"]))
    assert "<U1" in str(caught.value)
    assert "float32" in str(caught.value)


def test_an_unknown_dtype_on_the_wire_is_rejected() -> None:
    payload = msgpack.packb(["float128", [1], b"\x00" * 16])
    with pytest.raises(ValueError, match="float128"):
        decode(msgpack.packb(msgpack.ExtType(codec.NDARRAY_EXT, payload)))
