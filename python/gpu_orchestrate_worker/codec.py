"""msgpack with arrays: numpy arrays and torch tensors travel as extension type 1.

The extension's payload is itself msgpack: [dtype name, shape, raw little-endian C-order bytes].
No pickle ever crosses the wire. bfloat16 (which numpy lacks) travels as its raw 16-bit words
with the dtype name "bfloat16", so nothing is rounded. The TypeScript twin is
src/transport/codec.ts.
"""

from __future__ import annotations

import sys
from typing import Any

import msgpack
import numpy as np

NDARRAY_EXT = 1

# Names the wire accepts, the same list as src/transport/codec.ts.
DTYPES = frozenset(
    "bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 "
    "complex64 complex128 bfloat16".split()
)


class WireArray:
    """An array whose dtype numpy cannot hold (bfloat16): its dtype name, shape and raw bytes."""

    __slots__ = ("dtype", "shape", "data")

    def __init__(self, dtype: str, shape: tuple[int, ...], data: bytes) -> None:
        self.dtype, self.shape, self.data = dtype, shape, data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WireArray) and (self.dtype, self.shape, self.data) == (
            other.dtype,
            other.shape,
            other.data,
        )

    def __repr__(self) -> str:
        return f"WireArray(dtype={self.dtype!r}, shape={self.shape!r}, {len(self.data)} bytes)"


def _ndarray_payload(array: np.ndarray) -> bytes:
    if array.dtype.name not in DTYPES:
        raise TypeError(
            f"arrays of dtype {array.dtype} cannot be sent; use one of {', '.join(sorted(DTYPES))}"
        )
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder == "big"):
        array = array.astype(array.dtype.newbyteorder("<"))
    return msgpack.packb([array.dtype.name, list(array.shape), _raw_bytes(array)])


def _raw_bytes(array: np.ndarray) -> memoryview:
    # A flat byte view of the C-ordered data: no copy when the array is already contiguous.
    return memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def _tensor_payload(tensor: Any) -> bytes:
    import torch

    tensor = tensor.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    if tensor.dtype == torch.bfloat16:
        raw = tensor.contiguous().view(torch.int16).numpy()
        return msgpack.packb(["bfloat16", list(tensor.shape), _raw_bytes(raw)])
    return _ndarray_payload(tensor.numpy())


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return msgpack.ExtType(NDARRAY_EXT, _ndarray_payload(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, WireArray):
        return msgpack.ExtType(NDARRAY_EXT, msgpack.packb([value.dtype, list(value.shape), value.data]))
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return msgpack.ExtType(NDARRAY_EXT, _tensor_payload(value))
    if isinstance(value, int):
        # msgpack hands an int to `default` only when it is beyond its 64-bit range.
        raise OverflowError(
            f"the integer {value} does not fit in 64 bits (from -2**63 to 2**64-1); "
            "return it as a string or a float"
        )
    raise TypeError(
        f"a {type(value).__name__} cannot be sent as a result: return lists, dicts, strings, "
        "numbers, bools, None, bytes, numpy arrays or tensors"
    )


def _ext_hook(code: int, payload: bytes) -> Any:
    if code != NDARRAY_EXT:
        return msgpack.ExtType(code, payload)
    dtype, shape, data = msgpack.unpackb(payload)
    if dtype not in DTYPES:
        raise ValueError(f"unknown array dtype {dtype!r} on the wire")
    if dtype == "bfloat16":
        return WireArray(dtype, tuple(shape), bytes(data))
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def encode(value: Any) -> bytes:
    return msgpack.packb(value, default=_default, use_bin_type=True, datetime=False)


def decode(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)
