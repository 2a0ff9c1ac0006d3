"""One model replica: import the user's script, call setup once, then run batches until stopped.

Started by the device host with torch.multiprocessing (spawn). It talks to the controller
directly: a PULL socket on its own task endpoint, a PUSH socket to the shared events endpoint.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import codec, protocol
from .parent_watch import die_with_parent
from .script import Context, ScriptError, load

# Exit codes a replica uses on purpose; the host reports them, the controller explains them.
EXIT_SCRIPT_ERROR = 3
EXIT_SETUP_ERROR = 4
EXIT_PROTOCOL_ERROR = 5


@dataclass
class ReplicaConfig:
    device_index: int
    device_label: str  # "cuda:2", "cpu:0"
    torch_device: str  # "cuda:0" (the host's CUDA_VISIBLE_DEVICES shows one GPU) or "cpu"
    replica: int
    script: str
    events_endpoint: str
    task_endpoint: str
    threads: int  # torch intra-op threads for this replica; 0 leaves torch's default
    parent_pid: int
    options: dict[str, str] = field(default_factory=dict)


class InferContractError(Exception):
    """infer() returned something other than one result per item."""


def run_batch(infer: Callable[[Any, list[Any]], Any], model: Any, inputs: list[Any]) -> list[dict[str, Any]]:
    """Run infer on a batch; when it raises, split the batch to find the items that fail.

    Halving isolates k failing items in O(k log n) calls instead of failing the whole batch,
    so one corrupt image costs one failed line, not batch-size lines.
    """
    started = time.perf_counter()
    try:
        results = infer(model, inputs)
        if not isinstance(results, (list, tuple)) or len(results) != len(inputs):
            got = f"{len(results)} results" if isinstance(results, (list, tuple)) else f"a {type(results).__name__}"
            raise InferContractError(
                f"infer() returned {got} for a batch of {len(inputs)} items; "
                "it must return a list with one result per item, in order"
            )
    except Exception as exc:
        if len(inputs) == 1:
            return [{"ok": False, "error": protocol.error_info(exc), "seconds": time.perf_counter() - started}]
        middle = len(inputs) // 2
        return run_batch(infer, model, inputs[:middle]) + run_batch(infer, model, inputs[middle:])
    seconds = (time.perf_counter() - started) / len(inputs)
    return [{"ok": True, "result": value, "seconds": seconds} for value in results]


def encode_result(message: dict[str, Any]) -> bytes:
    """Encode a result message; an item whose result cannot travel fails alone, with the reason."""
    try:
        return codec.encode(message)
    except (TypeError, ValueError, OverflowError):
        outcomes = []
        for outcome in message["outcomes"]:
            try:
                codec.encode(outcome)
                outcomes.append(outcome)
            except (TypeError, ValueError, OverflowError) as exc:
                error = protocol.error_info(exc)
                error["message"] = f"the result cannot be sent to the controller: {exc}"
                outcomes.append({"ok": False, "error": error, "seconds": outcome["seconds"]})
        return codec.encode({**message, "outcomes": outcomes})


def _limit_threads(threads: int) -> None:
    if threads <= 0:
        return
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set by the script's import; the intra-op limit is what matters


def replica_main(config: ReplicaConfig) -> None:
    # Ctrl-C reaches the whole process group; the controller decides what stops and when.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(config.parent_pid)
    import zmq

    context = zmq.Context()
    events = context.socket(zmq.PUSH)
    events.setsockopt(zmq.LINGER, 5000)  # deliver the last report before exiting
    events.connect(config.events_endpoint)
    tasks = context.socket(zmq.PULL)
    tasks.connect(config.task_endpoint)
    pid = os.getpid()

    def report_failure(kind: str, exc: BaseException, exit_code: int) -> None:
        events.send(codec.encode(protocol.replica_error(kind, config.device_index, config.replica, pid, protocol.error_info(exc))))
        events.close()
        context.term()
        sys.exit(exit_code)

    _limit_threads(config.threads)
    try:
        script = load(Path(config.script))
    except ScriptError as exc:
        report_failure("script_error", exc, EXIT_SCRIPT_ERROR)
        return
    import torch

    ctx = Context(
        device=torch.device(config.torch_device),
        replica=config.replica,
        device_index=config.device_index,
        device_label=config.device_label,
        options=dict(config.options),
    )
    try:
        model = script.setup(ctx)
    except BaseException as exc:
        report_failure("setup_error", exc, EXIT_SETUP_ERROR)
        return

    events.send(codec.encode(protocol.ready(config.device_index, config.replica, pid)))
    while True:
        try:
            kind, batch, inputs = protocol.parse_task(codec.decode(tasks.recv()))
        except (protocol.ProtocolError, ValueError) as exc:
            # Only the controller writes to this socket: a bad message means a version mismatch.
            report_failure("script_error", protocol.ProtocolError(f"bad task message: {exc}"), EXIT_PROTOCOL_ERROR)
            return
        if kind == "stop":
            break
        outcomes = run_batch(script.infer, model, inputs)
        events.send(encode_result(protocol.result(config.device_index, config.replica, batch, outcomes)), copy=False)

    if script.teardown is not None:
        script.teardown(model)
    tasks.close(linger=0)
    events.close()
    context.term()
