"""Message shapes on the wire, defined once for the Python side.

The TypeScript twin is src/transport/messages.ts; test/transport/cross-language.test.ts checks
that both sides agree. Every message is a msgpack map with the protocol version `v` and a `kind`.

One socket on the controller's side, a ROUTER; every host and replica connects DEALER sockets to
it. Those it is sent to name themselves with a routing id (below), new for each start, so a
restarted process never receives what was meant for the one it replaces.

Controller -> replica, on its task socket (routing id task_route):
    {"v", "kind": "batches", "batches": [{"batch": int, "inputs": [item, ...]}, ...]}
    {"v", "kind": "stop"}
    One message carries every batch the controller hands that replica at once (its credit:
    --prefetch, more for batches that finish in well under a millisecond). Batch ids on one
    replica's task socket only grow, within a message and from one message to the next
    (take_back.py relies on it).

Controller -> replica, on its take-back socket (routing id take_back_route), read by a thread:
    {"v", "kind": "take_back", "batch": int}   # give it back if it has not started

Controller -> device host, on its command socket (routing id host_route):
    {"v", "kind": "start", "replica": int, "generation": int}   # (re)start that replica
    {"v", "kind": "shutdown"}          # exit once every replica has exited (they were told to stop)
    {"v", "kind": "heartbeat"}         # every second; a host that hears nothing for its
                                       # heartbeat_timeout_ms stops its replicas and exits

Replica or host -> controller (a DEALER of their own, no routing id needed):
    {"v", "kind": "ready",        "device", "replica", "pid", "generation"}
    {"v", "kind": "results",      "device", "replica", "results": [entry, ...]}
                                  # every batch finished since the replica's last send (results.py)
    {"v", "kind": "script_error", "device", "replica", "pid", "error"}   # import / contract
    {"v", "kind": "setup_error",  "device", "replica", "pid", "error"}   # setup() raised
    {"v", "kind": "replica_exit", "device", "replica", "pid", "exitcode", "generation",
                                  "running": int | None}   # host; running: the batch the replica
                                  # had started and not finished when it exited (None: none)
    {"v", "kind": "heartbeat",    "device", "pid", "incarnation"}         # host, every second
    {"v", "kind": "telemetry",    "device", "pid", "memory_used", "memory_free", "memory_total",
                                  "utilization": float | None, "source": str} # host, every 2 s
    {"v", "kind": "shared_error", "device", "pid", "error"}   # host: load_shared() failed
    {"v", "kind": "taken_back",   "device", "replica", "batch"}  # that batch will not run here
                                  # (sent on the take-back socket, by the thread that reads it)

Telemetry: memory in bytes. On a GPU, the device's memory (all processes on it) and its
utilization in percent when NVML tells it; on a CPU device, the proportional set size (PSS) of
the host and its replicas as "used", the machine's available memory as "free", its RAM as
"total", and no utilization. "source" says which reading it is ("nvml", "nvidia-smi",
"torch.cuda", "pss").

An entry is {"batch": int, "outcomes": [outcome, ...], "batch_size_hint": int | None,
             "busy": float}: one batch's outcomes in its order; "busy" is the seconds the replica
spent on the batch (taken off its queue to result encoded, preprocess waits included), from
which the controller sizes the replica's credit.
An outcome is {"ok": True, "result": value, "seconds": float}
          or {"ok": False, "error": error, "seconds": float, "oom": bool};
an error is {"type": str, "message": str, "traceback": str}. "oom" marks an item that ran out of
device memory alone: the controller hands it back to be retried (on another device if it can).
A message may be several ZeroMQ frames: the first is the msgpack message; an array of at least
codec.FRAME_BYTES travels as a frame of its own after it, named in the message by its place
(codec.py: extension type 2), so its bytes are neither copied into the message nor out of it.
"batch_size_hint" is set when the batch ran out of memory and was split: the largest size that
then ran, which the controller uses for that device's next batches.
"""

from __future__ import annotations

import traceback as traceback_module
from typing import Any, TypedDict

import msgpack

# 2: take_back moved off the task socket to the take-back publisher.
# 3: one controller socket (a ROUTER) addressed by routing ids; the controller's heartbeat to each
#    host; a host's heartbeat names its incarnation.
# 4: bundles: several batches in one task message ("batches"), the results of several batches in
#    one message ("results", with each batch's busy seconds); large arrays as frames of their own
#    (extension type 2); replica_exit names the batch that was running.
PROTOCOL_VERSION = 4
# How often a host sends its heartbeat; the controller takes a host that stays silent much longer
# (HEARTBEAT_TIMEOUT_MS in src/workers/fleet.ts, 20 s by default) for hung.
HEARTBEAT_SECONDS = 1.0


class ErrorInfo(TypedDict):
    type: str
    message: str
    traceback: str


class ProtocolError(ValueError):
    """A message that does not have the shape this version of the protocol defines."""


def error_info(exc: BaseException) -> ErrorInfo:
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback_module.format_exception(exc)),
    }


def ready(device: int, replica: int, pid: int, generation: int) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "kind": "ready", "device": device, "replica": replica, "pid": pid, "generation": generation}


def result_entry(batch: int, outcomes: list[dict[str, Any]], batch_size_hint: int | None = None, busy: float = 0.0) -> dict[str, Any]:
    """One finished batch, as an entry of a results message."""
    return {"batch": batch, "outcomes": outcomes, "batch_size_hint": batch_size_hint, "busy": busy}


def results_message(device: int, replica: int, entries: list[bytes]) -> bytes:
    """A results message from entries encoded already (each as it finished: results.py).

    msgpack has no way to embed bytes that are msgpack already, so the map is written by hand:
    its first four pairs encoded as usual, then "results" and the array of the entries.
    """
    head = msgpack.packb({"v": PROTOCOL_VERSION, "kind": "results", "device": device, "replica": replica})
    assert head[0] == 0x84  # a fixmap of four pairs: the fifth is added below
    return b"".join([b"\x85", head[1:], msgpack.packb("results"), msgpack.Packer().pack_array_header(len(entries)), *entries])


def heartbeat(device: int, pid: int, incarnation: int) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "kind": "heartbeat", "device": device, "pid": pid, "incarnation": incarnation}


def host_exit(device: int, pid: int, incarnation: int, exitcode: int) -> dict[str, Any]:
    """The host's last message: it is leaving, with this exit status (how a host the controller did not start says it is gone)."""
    return {"v": PROTOCOL_VERSION, "kind": "host_exit", "device": device, "pid": pid, "incarnation": incarnation, "exitcode": exitcode}


def telemetry(
    device: int, pid: int, memory_used: int, memory_free: int, memory_total: int, utilization: float | None, source: str
) -> dict[str, Any]:
    return {
        "v": PROTOCOL_VERSION,
        "kind": "telemetry",
        "device": device,
        "pid": pid,
        "memory_used": memory_used,
        "memory_free": memory_free,
        "memory_total": memory_total,
        "utilization": utilization,
        "source": source,
    }


def shared_error(device: int, pid: int, error: ErrorInfo) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "kind": "shared_error", "device": device, "pid": pid, "error": error}


def replica_error(kind: str, device: int, replica: int, pid: int, error: ErrorInfo) -> dict[str, Any]:
    assert kind in ("script_error", "setup_error")
    return {"v": PROTOCOL_VERSION, "kind": kind, "device": device, "replica": replica, "pid": pid, "error": error}


def taken_back(device: int, replica: int, batch: int) -> dict[str, Any]:
    """The replica gave a batch back unstarted, as the controller asked: it will never run it here."""
    return {"v": PROTOCOL_VERSION, "kind": "taken_back", "device": device, "replica": replica, "batch": batch}


def replica_exit(device: int, replica: int, pid: int, exitcode: int | None, generation: int, running: int | None = None) -> dict[str, Any]:
    return {
        "v": PROTOCOL_VERSION,
        "kind": "replica_exit",
        "device": device,
        "replica": replica,
        "pid": pid,
        "exitcode": exitcode,
        "generation": generation,
        "running": running,
    }


def parse_task(message: Any) -> tuple[str, list[tuple[int, list[Any]]]]:
    """Validate a controller -> replica message; returns (kind, [(batch id, inputs), ...])."""
    if not isinstance(message, dict):
        raise ProtocolError(f"expected a map, got {type(message).__name__}")
    if message.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {message.get('v')!r}, this worker speaks {PROTOCOL_VERSION}")
    kind = message.get("kind")
    if kind == "stop":
        return "stop", []
    if kind == "batches":
        entries = message.get("batches")
        if not isinstance(entries, list) or not entries:
            raise ProtocolError("a batches message needs a non-empty list 'batches'")
        batches = []
        for entry in entries:
            batch, inputs = (entry.get("batch"), entry.get("inputs")) if isinstance(entry, dict) else (None, None)
            if not isinstance(batch, int) or isinstance(batch, bool) or not isinstance(inputs, list) or not inputs:
                raise ProtocolError("each batch needs an integer 'batch' and a non-empty list 'inputs'")
            batches.append((batch, inputs))
        return "batches", batches
    raise ProtocolError(f"unknown message kind {kind!r}")


def task_route(device: int, replica: int, generation: int) -> bytes:
    """The routing id of one start of a replica's task socket (src/transport/messages.ts: taskRoute)."""
    return f"t/{device}/{replica}/{generation}".encode()


def take_back_route(device: int, replica: int, generation: int) -> bytes:
    """The routing id of one start of a replica's take-back socket (takeBackRoute)."""
    return f"b/{device}/{replica}/{generation}".encode()


def host_route(device: int, incarnation: int) -> bytes:
    """The routing id of one start of a device host's command socket (hostRoute)."""
    return f"h/{device}/{incarnation}".encode()


def parse_take_back(message: Any) -> int:
    """Validate a take_back message (controller -> replica, on its take-back socket); returns the batch id."""
    if not isinstance(message, dict) or message.get("v") != PROTOCOL_VERSION or message.get("kind") != "take_back":
        raise ProtocolError(f"expected a take_back message of protocol version {PROTOCOL_VERSION}, got {message!r:.200}")
    batch = message.get("batch")
    if not isinstance(batch, int) or isinstance(batch, bool):
        raise ProtocolError("a take_back needs an integer 'batch'")
    return batch


def parse_control(message: Any) -> tuple[str, int, int]:
    """Validate a controller -> host message; returns (kind, replica, generation)."""
    if not isinstance(message, dict) or message.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"expected a map of protocol version {PROTOCOL_VERSION}, got {message!r:.200}")
    kind = message.get("kind")
    if kind in ("shutdown", "heartbeat"):
        return kind, -1, -1
    if kind != "start":
        raise ProtocolError(f"unknown host command {kind!r}")
    replica, generation = message.get("replica"), message.get("generation")
    if not isinstance(replica, int) or not isinstance(generation, int) or replica < 0:
        raise ProtocolError("a start command needs integer 'replica' and 'generation'")
    return "start", replica, generation
