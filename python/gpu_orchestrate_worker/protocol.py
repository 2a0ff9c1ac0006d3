"""Message shapes on the wire, defined once for the Python side.

The TypeScript twin is src/transport/messages.ts; test/transport/cross-language.test.ts checks
that both sides agree. Every message is a msgpack map with the protocol version `v` and a `kind`.

Controller -> replica (one PUSH socket per replica):
    {"v", "kind": "batch", "batch": int, "inputs": [item, ...]}
    {"v", "kind": "stop"}

Replica or host -> controller (one shared PULL socket):
    {"v", "kind": "ready",        "device", "replica", "pid"}
    {"v", "kind": "result",       "device", "replica", "batch", "outcomes": [outcome, ...]}
    {"v", "kind": "script_error", "device", "replica", "pid", "error"}   # import / contract
    {"v", "kind": "setup_error",  "device", "replica", "pid", "error"}   # setup() raised
    {"v", "kind": "replica_exit", "device", "replica", "pid", "exitcode"}  # from the host

An outcome is {"ok": True, "result": value, "seconds": float}
          or {"ok": False, "error": error, "seconds": float};
an error is {"type": str, "message": str, "traceback": str}.
"""

from __future__ import annotations

import traceback as traceback_module
from typing import Any, TypedDict

PROTOCOL_VERSION = 1


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


def ready(device: int, replica: int, pid: int) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "kind": "ready", "device": device, "replica": replica, "pid": pid}


def result(device: int, replica: int, batch: int, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "v": PROTOCOL_VERSION,
        "kind": "result",
        "device": device,
        "replica": replica,
        "batch": batch,
        "outcomes": outcomes,
    }


def replica_error(kind: str, device: int, replica: int, pid: int, error: ErrorInfo) -> dict[str, Any]:
    assert kind in ("script_error", "setup_error")
    return {"v": PROTOCOL_VERSION, "kind": kind, "device": device, "replica": replica, "pid": pid, "error": error}


def replica_exit(device: int, replica: int, pid: int, exitcode: int | None) -> dict[str, Any]:
    return {
        "v": PROTOCOL_VERSION,
        "kind": "replica_exit",
        "device": device,
        "replica": replica,
        "pid": pid,
        "exitcode": exitcode,
    }


def parse_task(message: Any) -> tuple[str, int, list[Any]]:
    """Validate a controller -> replica message; returns (kind, batch id, inputs)."""
    if not isinstance(message, dict):
        raise ProtocolError(f"expected a map, got {type(message).__name__}")
    if message.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {message.get('v')!r}, this worker speaks {PROTOCOL_VERSION}")
    kind = message.get("kind")
    if kind == "stop":
        return "stop", -1, []
    if kind == "batch":
        batch, inputs = message.get("batch"), message.get("inputs")
        if not isinstance(batch, int) or not isinstance(inputs, list) or not inputs:
            raise ProtocolError("a batch needs an integer 'batch' and a non-empty list 'inputs'")
        return "batch", batch, inputs
    raise ProtocolError(f"unknown message kind {kind!r}")
