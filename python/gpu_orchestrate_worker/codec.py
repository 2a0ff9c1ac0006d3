"""msgpack with arrays: numpy arrays and torch tensors travel as extension type 1 or 2.

Extension type 1 holds the array: its payload is itself msgpack, [dtype name, shape, raw
little-endian C-order bytes]. Extension type 2 names a frame instead: [dtype name, shape, n],
the array's bytes being the n-th frame after the message's own (0: the frame right after it).
encode() with a `frames` list sends every array of at least FRAME_BYTES that way: the list gets a
memoryview of the array's own memory, which pyzmq sends without copying (send_multipart(...,
copy=False)), and the controller writes it to the .arrays file from the frame it received. Smaller
arrays are copied into the message: a frame costs more than copying a few KiB. No pickle ever
crosses the wire. bfloat16 (which numpy lacks) travels as its raw 16-bit words with the dtype name
"bfloat16", so nothing is rounded. The TypeScript twin is src/transport/codec.ts.
"""

from __future__ import annotations

import sys
from typing import Any

import msgpack
import numpy as np

NDARRAY_EXT = 1
ARRAY_FRAME_EXT = 2
# Arrays this large or larger travel as frames of their own (when the caller collects frames).
FRAME_BYTES = 64 << 10

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


class Frames(list):  # type: ignore[type-arg]
    """The array frames of one message, in order. `borrowed`: some view memory the script returned
    (not a copy made here), which it may write to again once infer is called anew: the sender must
    not let it until ZeroMQ has sent those bytes (results.py)."""

    borrowed = False


def _wire_array(array: np.ndarray) -> tuple[str, list[int], np.ndarray, bool]:
    """(dtype name, shape, C-ordered little-endian array, whether that array is a copy made here)."""
    if array.dtype.name not in DTYPES:
        raise TypeError(
            f"arrays of dtype {array.dtype} cannot be sent; use one of {', '.join(sorted(DTYPES))}"
        )
    copied = False
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder == "big"):
        array, copied = array.astype(array.dtype.newbyteorder("<")), True
    if not array.flags.c_contiguous:
        array, copied = np.ascontiguousarray(array), True
    return array.dtype.name, list(array.shape), array, copied


def _raw_bytes(array: np.ndarray) -> memoryview:
    # A flat byte view of a C-ordered array's memory: no copy.
    return memoryview(array.reshape(-1).view(np.uint8))


def _tensor_array(tensor: Any) -> tuple[str, list[int], np.ndarray, bool]:
    import torch

    tensor = tensor.detach()
    copied = tensor.device.type != "cpu"
    if copied:
        tensor = tensor.cpu()  # a copy of ours: the script cannot reach it
    if tensor.dtype == torch.bfloat16:
        contiguous = tensor.contiguous()
        raw = contiguous.view(torch.int16).numpy()
        return "bfloat16", list(tensor.shape), raw, copied or contiguous.data_ptr() != tensor.data_ptr()
    dtype, shape, array, converted = _wire_array(tensor.numpy())
    return dtype, shape, array, copied or converted


def _array_ext(dtype: str, shape: list[int], array: np.ndarray, copied: bool, frames: Frames | None) -> msgpack.ExtType:
    if frames is not None and array.nbytes >= FRAME_BYTES:
        frames.append(_raw_bytes(array))
        frames.borrowed = frames.borrowed or not copied
        return msgpack.ExtType(ARRAY_FRAME_EXT, msgpack.packb([dtype, shape, len(frames) - 1]))
    return msgpack.ExtType(NDARRAY_EXT, msgpack.packb([dtype, shape, _raw_bytes(array)]))


def _default_for(frames: Frames | None) -> Any:
    def default(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return _array_ext(*_wire_array(value), frames)
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, WireArray):
            return msgpack.ExtType(NDARRAY_EXT, msgpack.packb([value.dtype, list(value.shape), value.data]))
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.Tensor):
            return _array_ext(*_tensor_array(value), frames)
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

    return default


_INLINE = _default_for(None)


def _array(dtype: Any, shape: Any, data: Any) -> Any:
    if dtype not in DTYPES:
        raise ValueError(f"unknown array dtype {dtype!r} on the wire")
    if dtype == "bfloat16":
        return WireArray(dtype, tuple(shape), bytes(data))
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def _ext_hook_for(frames: list[Any] | None) -> Any:
    def ext_hook(code: int, payload: bytes) -> Any:
        if code == NDARRAY_EXT:
            return _array(*msgpack.unpackb(payload))
        if code == ARRAY_FRAME_EXT:
            dtype, shape, index = msgpack.unpackb(payload)
            if frames is None or not isinstance(index, int) or not 0 <= index < len(frames):
                raise ValueError(f"an array names frame {index!r}, but the message has {len(frames or [])} array frame(s)")
            return _array(dtype, shape, frames[index])
        return msgpack.ExtType(code, payload)

    return ext_hook


_NO_FRAMES = _ext_hook_for(None)


def encode(value: Any, frames: Frames | None = None) -> bytes:
    """msgpack bytes; with `frames`, arrays of FRAME_BYTES or more go there instead, by reference."""
    default = _INLINE if frames is None else _default_for(frames)
    return msgpack.packb(value, default=default, use_bin_type=True, datetime=False)


def decode(data: bytes, frames: list[Any] | None = None) -> Any:
    """The value of a message; `frames`: the message's array frames, after its first."""
    ext_hook = _NO_FRAMES if frames is None else _ext_hook_for(frames)
    return msgpack.unpackb(data, ext_hook=ext_hook, raw=False, strict_map_key=False)
