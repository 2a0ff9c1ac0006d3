"""The launch config: what the controller tells a device host when it starts it, checked here.

The controller (src/workers/device-host.ts) passes it as `host --config <json>`, with snake_case
keys and the wire's protocol version. A host started by a controller of another version would
otherwise fail later and obscurely (a missing key, a message it cannot read), so the config is
checked whole before anything starts: the protocol version first (so a controller of another
version is told so, not about the keys that changed between versions), then unknown and missing
keys, then each value's type. A config that fails stops the host with EXIT_BAD_CONFIG and one
line to stderr, which the controller shows with the host's exit.

The checks are written here rather than with a validation library: the host runs in the user's
interpreter, whose packages are the user's (requirements.txt), and the dataclass below is the one
schema the checks read their keys and types from.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from .protocol import PROTOCOL_VERSION

# EX_CONFIG from BSD's sysexits.h ("configuration error"): apart from the codes a host exits with
# otherwise (0; 1 orphaned or a Python crash; 2 argparse's usage error; 3 load_shared failed;
# 128+N after signal N), so the controller can tell "this host cannot run with this controller".
EXIT_BAD_CONFIG = 78
VERSION_KEY = "protocol_version"
PREFIX = "gpu-orchestrate device host: "
ADVICE = f"install matching versions of gpu-orchestrate (this device host runs from {Path(__file__).resolve().parent})"


class LaunchConfigError(ValueError):
    """A launch config this host cannot run with; the message says why and what to do."""


@dataclass(frozen=True)
class HostConfig:
    """A validated launch config; replicas get it whole (replica.ReplicaConfig.host)."""

    device_index: int
    device_label: str  # as the controller names it: "cuda:2", "cpu:0"
    torch_device: str  # "cuda:0" (CUDA_VISIBLE_DEVICES shows the host one GPU) or "cpu"
    replicas: int  # how many to start now; a `start` command may add more, up to len(task_endpoints)
    script: str
    events_endpoint: str
    control_endpoint: str
    task_endpoints: list[str]  # one per replica slot; the controller has bound each
    take_back_endpoint: str  # the run's take-back publisher (take_back.py)
    threads_per_replica: int  # torch intra-op threads per replica; 0 leaves torch's default
    controller_pid: int
    options: dict[str, str] = field(default_factory=dict)  # --opt key=value
    generations: list[int] = field(default_factory=list)  # per replica: its first generation here

    @classmethod
    def from_json(cls, text: str) -> HostConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LaunchConfigError(f"{PREFIX}the launch config (--config) is not JSON ({exc}): {ADVICE}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> HostConfig:
        if not isinstance(data, dict):
            raise LaunchConfigError(f"{PREFIX}the launch config (--config) is not a JSON object but {_show(data)}: {ADVICE}")
        _check_version(data)
        problems = _problems({key: value for key, value in data.items() if key != VERSION_KEY})
        if problems:
            raise LaunchConfigError(_invalid("; ".join(problems)))
        return cls(**{key: value for key, value in data.items() if key != VERSION_KEY})


EXPECTED = {
    int: "an integer",
    str: "a string",
    list[str]: "a list of strings",
    list[int]: "a list of integers",
    dict[str, str]: "a map of strings to strings",
}
NON_NEGATIVE = ("device_index", "replicas", "threads_per_replica")


def _matches(value: Any, expected: Any) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not 1
    if expected is str:
        return isinstance(value, str)
    if expected == list[str] or expected == list[int]:
        item = str if expected == list[str] else int
        return isinstance(value, list) and all(_matches(each, item) for each in value)
    if expected == dict[str, str]:
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    raise TypeError(f"launch_config.py: no check for the type {expected}; add one to _matches and EXPECTED")


def _problems(data: dict[str, Any]) -> list[str]:
    types = get_type_hints(HostConfig)
    known = {each.name: each for each in fields(HostConfig)}
    unknown = [key for key in data if key not in known]
    missing = [
        name for name, each in known.items() if name not in data and each.default is MISSING and each.default_factory is MISSING
    ]
    problems = [
        f"{label} key{'s' if len(keys) > 1 else ''} {', '.join(map(repr, keys))}"
        for label, keys in (("unknown", unknown), ("missing", missing))
        if keys
    ]
    for key, value in data.items():
        if key in known and not _matches(value, types[key]):
            problems.append(f"{key!r} must be {EXPECTED[types[key]]}, got {_show(value)}")
    if problems:
        return problems
    problems += [f"{key!r} must not be negative, got {data[key]}" for key in NON_NEGATIVE if data[key] < 0]
    if any(generation < 0 for generation in data.get("generations", [])):
        problems.append(f"'generations' must not hold a negative number, got {data['generations']}")
    if data["replicas"] > len(data["task_endpoints"]):
        problems.append(f"'replicas' is {data['replicas']} but 'task_endpoints' names only {len(data['task_endpoints'])}")
    return problems


def _check_version(data: dict[str, Any]) -> None:
    if VERSION_KEY not in data:
        raise LaunchConfigError(
            f"{PREFIX}the controller sent no protocol version, so it is older than this "
            f"device host, which speaks protocol {PROTOCOL_VERSION}: {ADVICE}"
        )
    theirs = data[VERSION_KEY]
    if theirs == PROTOCOL_VERSION and _matches(theirs, int):
        return
    if _matches(theirs, int):
        older = "the device host" if theirs > PROTOCOL_VERSION else "the controller"
        raise LaunchConfigError(
            f"{PREFIX}the controller speaks protocol {theirs}, this device host speaks "
            f"{PROTOCOL_VERSION}, so {older} is older: {ADVICE}"
        )
    raise LaunchConfigError(
        f"{PREFIX}the controller sent the protocol version {_show(theirs)}, not a number; "
        f"this device host speaks {PROTOCOL_VERSION}: {ADVICE}"
    )


def _invalid(cause: str) -> str:
    return (
        f"{PREFIX}invalid launch config: {cause}. The controller and this device host both speak protocol "
        f"{PROTOCOL_VERSION}, so they should agree: {ADVICE}, and report this if they already match"
    )


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
