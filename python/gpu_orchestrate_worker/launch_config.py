"""The launch config: what the controller tells a device host when it starts it, checked here.

The controller builds it (src/launch/host-config.ts), with snake_case keys and the wire's protocol
version; a launcher hands it over as JSON in the environment (GPU_ORCHESTRATE_HOST_CONFIG) or in
a file only its owner can read (`host --config-file PATH`, `-` for standard input), never as a
command-line argument: over TCP it holds the run's keys, and `ps` shows arguments to every user.
A host started by a controller of another version would
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
import os
import re
import stat
import sys
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
CONFIG_VARIABLE = "GPU_ORCHESTRATE_HOST_CONFIG"  # src/launch/host-config.ts: HOST_CONFIG_VARIABLE
CURVE_KEYS = ("server_public", "client_public", "client_secret")
Z85_KEY = re.compile(r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}")


class LaunchConfigError(ValueError):
    """A launch config this host cannot run with; the message says why and what to do."""


@dataclass(frozen=True)
class HostConfig:
    """A validated launch config; replicas get it whole (replica.ReplicaConfig.host)."""

    device_index: int
    device_label: str  # as the controller names it: "cuda:2", "cpu:0"
    torch_device: str  # "cuda:0" (CUDA_VISIBLE_DEVICES shows the host one GPU) or "cpu"
    replicas: int  # how many to start now; a `start` command may add more, up to `slots`
    slots: int  # the most replicas this device may have
    script: str
    endpoint: str  # the controller's socket: ipc://... on one machine, tcp://HOST:PORT with `curve`
    incarnation: int  # which start of this device's host: its routing id and heartbeats carry it
    threads_per_replica: int  # torch intra-op threads per replica; 0 leaves torch's default
    controller_pid: int  # the controller, when it is this host's parent; 0 when a launcher started it otherwise
    heartbeat_timeout_ms: int  # heard nothing from the controller this long: stop (control.py)
    curve: dict[str, str] = field(default_factory=dict)  # over TCP: server_public, client_public, client_secret
    options: dict[str, str] = field(default_factory=dict)  # --opt key=value
    generations: list[int] = field(default_factory=list)  # per replica: its first generation here

    @classmethod
    def load(cls, config_file: str | None) -> HostConfig:
        """From `config_file` (a path, or "-" for standard input) or else the environment."""
        if config_file == "-":
            return cls.from_json(sys.stdin.read())
        if config_file is not None:
            return cls.from_json(_read_private(config_file))
        text = os.environ.get(CONFIG_VARIABLE)
        if text is None:
            raise LaunchConfigError(
                f"{PREFIX}no launch config: the launcher sets {CONFIG_VARIABLE} to it (JSON), or passes "
                "--config-file PATH (a file only its owner can read; - reads standard input)"
            )
        return cls.from_json(text)

    @classmethod
    def from_json(cls, text: str) -> HostConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LaunchConfigError(f"{PREFIX}the launch config is not JSON ({exc}): {ADVICE}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> HostConfig:
        if not isinstance(data, dict):
            raise LaunchConfigError(f"{PREFIX}the launch config is not a JSON object but {_show(data)}: {ADVICE}")
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
NON_NEGATIVE = ("device_index", "replicas", "slots", "incarnation", "threads_per_replica", "controller_pid")


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
    if data["replicas"] > data["slots"]:
        problems.append(f"'replicas' is {data['replicas']} but 'slots' only {data['slots']}")
    if data["heartbeat_timeout_ms"] <= 0:
        problems.append(f"'heartbeat_timeout_ms' must be more than 0, got {data['heartbeat_timeout_ms']}")
    return problems + _endpoint_problems(data["endpoint"], data.get("curve", {}))


def _endpoint_problems(endpoint: str, curve: dict[str, str]) -> list[str]:
    if not endpoint.startswith(("ipc://", "tcp://")):
        return [f"'endpoint' must be an ipc:// or tcp:// address, got {endpoint!r}"]
    if curve and sorted(curve) != sorted(CURVE_KEYS):
        return [f"'curve' must hold exactly {', '.join(CURVE_KEYS)}, got the keys {', '.join(sorted(curve))}"]
    if any(not Z85_KEY.fullmatch(value) for value in curve.values()):
        return ["'curve' holds a key that is not 40 characters of Z85 text"]
    if endpoint.startswith("tcp://") and not curve:
        return ["'endpoint' is a tcp:// address but 'curve' holds no keys: the controller admits only this run's keys over TCP"]
    return []


def _read_private(path: str) -> str:
    """A config file; refused when other users may read it (it may hold the run's keys)."""
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise LaunchConfigError(f"{PREFIX}cannot read the launch config file {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LaunchConfigError(
            f"{PREFIX}the launch config file {path} may be read by other users (mode {stat.S_IMODE(mode):04o}), "
            f"and it can hold the run's keys: make it private (chmod 600 {path}) and start the host again"
        )
    return text


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
