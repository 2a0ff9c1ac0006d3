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
from .oom import free_device_memory, is_out_of_memory
from .parent_watch import die_with_parent
from .preprocess import PreparedBatches, merge_outcomes
from .script import Context, ScriptError, UserScript, load
from .shared import unwrap

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
    generation: int = 0  # how many times the controller has started this replica before
    shared: Any = field(default_factory=dict)  # the host's load_shared data (shared.py): handles, not copies


class InferContractError(Exception):
    """infer() returned something other than one result per item."""


class OomSplit:
    """What a batch's out-of-memory splitting found: the sizes that ran once splitting began."""

    def __init__(self) -> None:
        self.active = False
        self.sizes_that_ran: list[int] = []

    def hint(self) -> int | None:
        """The batch size to use next on this device, or None when memory never ran out."""
        return max(self.sizes_that_ran, default=1) if self.active else None


def run_batch(
    infer: Callable[[Any, list[Any]], Any],
    model: Any,
    inputs: list[Any],
    oom_split: OomSplit | None = None,
) -> list[dict[str, Any]]:
    """Run infer on a batch; when it raises, split the batch to find the items that fail.

    Halving isolates k failing items in O(k log n) calls instead of failing the whole batch,
    so one corrupt image costs one failed line, not batch-size lines. Out of device memory, the
    same halving finds a size that fits: memory is freed before each retry, the sizes that then
    ran are noted in `oom_split`, and an item that runs out of memory alone is marked
    "oom" so the controller can retry it elsewhere.
    """
    started = time.perf_counter()
    out_of_memory = False
    try:
        results = infer(model, inputs)
        if not isinstance(results, (list, tuple)) or len(results) != len(inputs):
            got = f"{len(results)} results" if isinstance(results, (list, tuple)) else f"a {type(results).__name__}"
            raise InferContractError(
                f"infer() returned {got} for a batch of {len(inputs)} items; "
                "it must return a list with one result per item, in order"
            )
    except Exception as exc:
        out_of_memory = is_out_of_memory(exc)
        if len(inputs) == 1:
            failure: dict[str, Any] = {"ok": False, "error": protocol.error_info(exc), "seconds": time.perf_counter() - started}
            if out_of_memory:
                failure["oom"] = True
            del exc
            if out_of_memory:
                free_device_memory()
            return [failure]
        del exc
    else:
        if oom_split is not None and oom_split.active:
            oom_split.sizes_that_ran.append(len(inputs))
        seconds = (time.perf_counter() - started) / len(inputs)
        return [{"ok": True, "result": value, "seconds": seconds} for value in results]

    # The batch raised: the exception (and the tensors its frames hold) is gone by now.
    if out_of_memory:
        free_device_memory()
        if oom_split is not None:
            oom_split.active = True
    middle = len(inputs) // 2
    return run_batch(infer, model, inputs[:middle], oom_split) + run_batch(infer, model, inputs[middle:], oom_split)


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


def serve_batches(script: UserScript, model: Any, tasks: Any, events: Any, config: ReplicaConfig) -> None:
    """Receive, infer, send, until the stop message."""
    while True:
        kind, batch, inputs = protocol.parse_task(codec.decode(tasks.recv()))
        if kind == "stop":
            return
        oom_split = OomSplit()
        outcomes = run_batch(script.infer, model, inputs, oom_split)
        message = protocol.result(config.device_index, config.replica, batch, outcomes, oom_split.hint())
        events.send(encode_result(message), copy=False)


def preprocess_workers(threads: int) -> int:
    """Threads for preprocess: the replica's share of the cores, and at least two, so one item's
    preprocess never waits behind another's when infer is the only other work."""
    return max(2, threads)


def serve_preprocessed_batches(script: UserScript, model: Any, tasks: Any, events: Any, config: ReplicaConfig) -> None:
    """As serve_batches, with preprocess(item) run on a thread pool as soon as a batch arrives."""
    assert script.preprocess is not None
    batches = PreparedBatches(tasks, script.preprocess, preprocess_workers(config.threads))
    try:
        while (received := batches.next()) is not None:
            batch, futures = received
            prepared = [future.result() for future in futures]
            oom_split = OomSplit()
            ready = [item.value for item in prepared if item.ok]
            infer_outcomes = run_batch(script.infer, model, ready, oom_split) if ready else []
            outcomes = merge_outcomes(prepared, infer_outcomes)
            message = protocol.result(config.device_index, config.replica, batch, outcomes, oom_split.hint())
            events.send(encode_result(message), copy=False)
    finally:
        batches.close()


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
        shared=unwrap(config.shared),
    )
    try:
        model = script.setup(ctx)
    except BaseException as exc:
        report_failure("setup_error", exc, EXIT_SETUP_ERROR)
        return

    events.send(codec.encode(protocol.ready(config.device_index, config.replica, pid, config.generation)))
    try:
        if script.preprocess is None:
            serve_batches(script, model, tasks, events, config)
        else:
            serve_preprocessed_batches(script, model, tasks, events, config)
    except (protocol.ProtocolError, ValueError) as exc:
        # Only the controller writes to this socket: a bad message means a version mismatch.
        report_failure("script_error", protocol.ProtocolError(f"bad task message: {exc}"), EXIT_PROTOCOL_ERROR)
        return

    if script.teardown is not None:
        script.teardown(model)
    tasks.close(linger=0)
    events.close()
    context.term()
