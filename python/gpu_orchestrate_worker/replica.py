"""One model replica: import the user's script, call setup once, then run batches until stopped.

Started by the device host with torch.multiprocessing (spawn). It talks to the controller
directly (wire.py): batches come on its task socket, take-backs on a socket of their own, and it
sends its reports on a third.
One serve loop runs every batch; where batches come from (straight off the socket, or through
the script's preprocess on a thread pool) is its batch source (batches.py).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import codec, protocol, wire
from .batches import BatchSource, preprocessed_batches, received_batches
from .launch_config import HostConfig
from .oom import free_device_memory, is_out_of_memory
from .parent_watch import die_with_parent
from .script import Context, ScriptError, load, preprocess_for
from .shared import unwrap
from .results import ResultSender
from .take_back import TakeBacks, listen

# Exit codes a replica uses on purpose; the host reports them, the controller explains them.
EXIT_SCRIPT_ERROR = 3
EXIT_SETUP_ERROR = 4
EXIT_PROTOCOL_ERROR = 5


@dataclass(frozen=True)
class ReplicaConfig:
    """What a replica is started with: its host's launch config, and which replica it is."""

    host: HostConfig
    replica: int
    generation: int  # how many times the controller has started this replica before
    parent_pid: int  # the host's
    shared: Any = field(default_factory=dict)  # the host's load_shared data (shared.py): handles, not copies
    running: Any = None  # the running-batch marker the host reads when this replica exits (take_back.py)

    @property
    def task_route(self) -> bytes:
        return protocol.task_route(self.host.device_index, self.replica, self.generation)

    @property
    def take_back_route(self) -> bytes:
        return protocol.take_back_route(self.host.device_index, self.replica, self.generation)


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


def _limit_threads(threads: int) -> None:
    if threads <= 0:
        return
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set by the script's import; the intra-op limit is what matters


def serve(source: BatchSource, infer: Callable[[Any, list[Any]], Any], model: Any, sender: ResultSender) -> None:
    """Infer each batch from the source and hand its result to the sender, until the source ends
    (the stop message); then send what is held."""
    source.on_wait = sender.flush  # nothing held while the replica waits for the controller
    with closing(source):  # the preprocess source's pool is shut down, however the loop ends
        for ready in source:
            sender.borrowed_free()  # infer may write into arrays it returned before
            sender.started()
            oom_split = OomSplit()
            from_infer = run_batch(infer, model, ready.inputs, oom_split) if ready.inputs else []
            busy = time.perf_counter() - ready.taken_at
            sender.finished(protocol.result_entry(ready.batch, ready.outcomes(from_infer), oom_split.hint(), busy), source.waiting())
            source.finished(ready.batch)
    sender.flush()


def listen_for_take_backs(context: Any, config: ReplicaConfig) -> TakeBacks:
    """Connect this replica's take-back socket and start its listener (take_back.py). The socket
    belongs to the listener's thread (zmq sockets are not thread-safe), which also sends the
    `taken_back` confirmations on it, delivered before the replica exits."""
    host = config.host
    socket = wire.connect(context, host.endpoint, host.curve, config.take_back_route)

    def confirm(batch: int) -> None:
        socket.send(codec.encode(protocol.taken_back(host.device_index, config.replica, batch)))

    take_backs = TakeBacks(config.running)
    listen(socket, take_backs, confirm, socket.close)
    return take_backs


def replica_main(config: ReplicaConfig) -> None:
    # Ctrl-C reaches the whole process group; the controller decides what stops and when.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(config.parent_pid)
    import zmq

    host = config.host
    context = zmq.Context()
    events = wire.connect(context, host.endpoint, host.curve)  # lingers: the last report gets out
    tasks = wire.connect(context, host.endpoint, host.curve, config.task_route, linger=0)
    pid = os.getpid()

    def report_failure(kind: str, exc: BaseException, exit_code: int) -> None:
        events.send(codec.encode(protocol.replica_error(kind, host.device_index, config.replica, pid, protocol.error_info(exc))))
        events.close()
        tasks.close(linger=0)
        context.term()  # also ends the take-back listener, if it started
        sys.exit(exit_code)

    _limit_threads(host.threads_per_replica)
    try:
        script = load(Path(host.script))
    except ScriptError as exc:
        report_failure("script_error", exc, EXIT_SCRIPT_ERROR)
        return
    import torch

    ctx = Context(
        device=torch.device(host.torch_device),
        replica=config.replica,
        device_index=host.device_index,
        device_label=host.device_label,
        options=dict(host.options),
        shared=unwrap(config.shared),
    )
    try:
        model = script.setup(ctx)
    except BaseException as exc:
        report_failure("setup_error", exc, EXIT_SETUP_ERROR)
        return

    take_backs = listen_for_take_backs(context, config)
    events.send(codec.encode(protocol.ready(host.device_index, config.replica, pid, config.generation)))
    if script.preprocess is None:
        source = received_batches(tasks, take_backs)
    else:
        source = preprocessed_batches(tasks, preprocess_for(script.preprocess, ctx), host.threads_per_replica, take_backs)
    sender = ResultSender(events, host.device_index, config.replica)
    try:
        serve(source, script.infer, model, sender)
    except (protocol.ProtocolError, ValueError) as exc:
        # Only the controller writes to this socket: a bad message means a version mismatch.
        sender.close()  # what finished before it goes first
        report_failure("script_error", protocol.ProtocolError(f"bad task message: {exc}"), EXIT_PROTOCOL_ERROR)
        return
    sender.close()

    if script.teardown is not None:
        script.teardown(model)
    tasks.close(linger=0)
    events.close()
    context.term()  # ends the take-back listener, which closes its sockets
