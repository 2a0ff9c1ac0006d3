"""Shared read-only data: what load_shared(options) returns, placed once in shared memory.

The device host calls load_shared once; every replica it starts receives the result as
`ctx.shared`. Tensors and numpy arrays are not copied per replica: the host moves each into
shared memory (`Tensor.share_memory_()`), and when a replica is spawned torch.multiprocessing's
reductions pickle only a handle to that storage (with the default `file_descriptor` strategy, a
file descriptor the child maps), so every replica maps the same physical pages. This is how
torch itself shares tensors between processes; see the "Sharing strategies" section of the
torch.multiprocessing documentation.

What load_shared may return (checked here, with the path of anything else in the message):
- a dict with string keys (or a list or tuple) whose values are, at any depth:
  - torch tensors: CPU tensors go to shared memory; CUDA tensors are passed as CUDA IPC handles
    by torch (the host keeps them alive for its whole life, as torch requires);
  - numpy arrays of a dtype torch has (bool, integers, floats, complex): shared the same way,
    and given back to replicas as numpy arrays viewing the shared memory;
  - None, bools, numbers, strings and bytes: small values, copied to each replica.
Replicas should treat the data as read-only: a write is seen by every replica of the host, with
no locking.

Each tensor's storage is one shared-memory file, held open as a file descriptor by the host and
by every replica: return a few large tensors (concatenated, with an offsets array, as
examples/match_pairs.py does) rather than one per image. raise_open_file_limit() lifts the soft
limit on open files to the hard one, as the torch.multiprocessing docs advise for many storages.

The host imports torch only here, and only when the script defines load_shared: torch's
reductions (a tensor pickled as a handle to its shared storage) register themselves with
multiprocessing's ForkingPickler when torch is imported, which share() does before the replicas
start. Importing torch in every host would hold back each replica's start by one torch import
(about 2 s), on the path to the first result.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from . import codec, protocol, wire
from .launch_config import HostConfig
from .script import ScriptError, check_source, load

SCALARS = (type(None), bool, int, float, str, bytes)


class SharedDataError(TypeError):
    """load_shared returned something that cannot be shared; the message names where it is."""


class NumpyShared:
    """A numpy array's data as a shared tensor; replicas get a numpy view of it back."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled by multiprocessing's ForkingPickler: the tensor inside goes by torch's reducer.
        return (NumpyShared, (self.tensor,))


def raise_open_file_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit; spawned replicas inherit it."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass  # not POSIX, or not allowed: the default limit stays


def share(value: Any, where: str = "load_shared()") -> Any:
    """Return `value` with every tensor and array moved to shared memory (one copy, here).

    A tensor already in shared memory (or on a GPU) is not copied again: returning
    `torch.empty(...).share_memory_()` filled in place saves the host the transient double.
    """
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.device.type == "cpu" and not tensor.is_shared():
            tensor = tensor.share_memory_()
        return tensor
    if isinstance(value, np.ndarray):
        try:
            tensor = torch.from_numpy(np.ascontiguousarray(value))
        except TypeError as exc:
            raise SharedDataError(
                f"{where} is a numpy array of dtype {value.dtype}, which torch cannot hold ({exc}); "
                "convert it to a numeric dtype, or to a tensor, before returning it"
            ) from exc
        return NumpyShared(tensor.share_memory_())
    if isinstance(value, dict):
        shared = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SharedDataError(f"{where} has the key {key!r} ({type(key).__name__}); use string keys")
            shared[key] = share(item, f"{where}[{key!r}]")
        return shared
    if isinstance(value, (list, tuple)):
        items = [share(item, f"{where}[{index}]") for index, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, SCALARS):
        return value
    raise SharedDataError(
        f"{where} is a {type(value).__module__}.{type(value).__name__}, which cannot be shared; return "
        "a dict of torch tensors, numpy arrays and plain values (None, bools, numbers, strings, bytes), "
        "nested in dicts, lists or tuples. Build models in setup(ctx), not in load_shared."
    )


def unwrap(value: Any) -> Any:
    """In a replica: the structure load_shared returned, numpy arrays restored as views."""
    if isinstance(value, NumpyShared):
        return value.tensor.numpy()  # shares the tensor's memory and keeps it alive
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    if isinstance(value, tuple):
        return tuple(unwrap(item) for item in value)
    return value



def load_shared_data(path: Path, options: dict[str, str], heartbeat: Any) -> tuple[Any, protocol.ErrorInfo | None]:
    """Call the script's load_shared once, if it has one: (the shared data, None), or ({}, the error).

    `heartbeat` (a Heartbeat) is sent every HEARTBEAT_SECONDS while load_shared runs: loading a
    large store takes minutes, and the controller must not take the host for hung meanwhile.
    """
    try:
        if "load_shared" not in check_source(path):
            return {}, None
    except ScriptError:
        return {}, None  # the replicas report the script's problem, once each as before
    with heartbeat.beating():
        try:
            script = load(path)  # a ScriptError's message names the file and the cause
            assert script.load_shared is not None
            raise_open_file_limit()  # one descriptor per shared storage, in the host and each replica
            return share(script.load_shared(dict(options))), None
        except ScriptError as exc:
            return {}, protocol.error_info(exc)
        except SharedDataError as exc:
            error = protocol.error_info(exc)
            error["message"] = f"{path}: {exc}"
            return {}, error
        except BaseException as exc:  # the user's code: anything, SystemExit included
            error = protocol.error_info(exc)
            error["message"] = f"{path}: load_shared() raised {type(exc).__name__}: {exc}"
            return {}, error


class Heartbeat:
    """The host's heartbeat, sent from a thread of its own while the host's own thread is busy."""

    def __init__(self, context: Any, config: HostConfig, pid: int, seconds: float = protocol.HEARTBEAT_SECONDS) -> None:
        self.context, self.config, self.seconds = context, config, seconds
        self.message = protocol.heartbeat(config.device_index, pid, config.incarnation)

    @contextmanager
    def beating(self) -> Iterator[None]:
        done = threading.Event()
        beater = threading.Thread(target=self._beat_until, args=(done,), name="heartbeat-while-loading", daemon=True)
        beater.start()
        try:
            yield
        finally:
            done.set()
            beater.join()

    def _beat_until(self, done: threading.Event) -> None:
        # Sockets are not thread-safe: this thread's own.
        socket = wire.connect(self.context, self.config.endpoint, self.config.curve, linger=1000)
        while not done.wait(self.seconds):
            socket.send(codec.encode(self.message))
        socket.close()
