"""Stand-ins for the sockets, processes and clock of a host or replica, so their loops run in-process."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.launch_config import HostConfig


def launch_config(**changes: Any) -> dict[str, Any]:
    """A launch config as src/launch/host-config.ts builds it (two replica slots, one started)."""
    config: dict[str, Any] = {
        "protocol_version": protocol.PROTOCOL_VERSION,
        "device_index": 1,
        "device_label": "cpu:1",
        "torch_device": "cpu",
        "replicas": 1,
        "slots": 2,
        "script": "detect.py",
        "endpoint": "ipc:///tmp/run/controller",
        "curve": {},
        "incarnation": 0,
        "generations": [0],
        "threads_per_replica": 2,
        "controller_pid": 4242,
        "heartbeat_timeout_ms": 30_000,
        "options": {"scale": "2"},
    }
    config.update(changes)
    return config


def host_config(**changes: Any) -> HostConfig:
    return HostConfig.from_dict(launch_config(**changes))


def task(kind: str, batch: int = 0, inputs: list[Any] | None = None) -> bytes:
    """A task message: "stop", or "batch" (one batch in a batches message)."""
    if kind == "batch":
        return bundle((batch, inputs))
    return codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": kind})


def bundle(*batches: tuple[int, list[Any] | None]) -> bytes:
    """A batches message carrying these (batch id, inputs), as the controller bundles them."""
    entries = [{"batch": batch, "inputs": inputs} for batch, inputs in batches]
    return codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": "batches", "batches": entries})


class FakeTasks:
    """A replica's task socket: hands out the given messages in order."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = list(messages)
        self.lock = threading.Lock()  # the preprocess source reads from a thread of its own

    def recv(self) -> bytes:
        with self.lock:
            if not self.messages:
                raise AssertionError("the loop read past the last message; it should have stopped at 'stop'")
            return self.messages.pop(0)

    def poll(self, timeout: int = 0) -> int:
        """As a socket's poll: nonzero when a message waits (all of them are here at once)."""
        with self.lock:
            return 1 if self.messages else 0


class FakeEvents:
    """The events socket to the controller: keeps every message sent, decoded."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.lock = threading.Lock()  # the result watchdog may send from its thread

    def send(self, data: bytes, copy: bool = True) -> None:
        with self.lock:
            self.sent.append(codec.decode(data))

    def send_multipart(self, frames: list[Any], copy: bool = True, track: bool = False) -> None:
        """A message whose large arrays follow it as frames (codec.py): decoded with them."""
        with self.lock:
            self.sent.append(codec.decode(frames[0], [bytes(frame) for frame in frames[1:]]))

    def kinds(self) -> list[str]:
        return [message["kind"] for message in self.sent]

    def results(self) -> list[dict[str, Any]]:
        """Every batch's entry from the results messages, in the order sent."""
        return [entry for message in self.sent if message["kind"] == "results" for entry in message["results"]]


class FakeProcess:
    """A spawned replica that runs nothing: the test decides when it exits."""

    next_pid = 1000

    def __init__(self, target: Callable[..., Any], args: tuple[Any, ...], name: str) -> None:
        self.target, self.args, self.name = target, args, name
        self.pid: int | None = None
        self.exitcode: int | None = None
        self.ignores_sigterm = False
        self.signals: list[str] = []

    def start(self) -> None:
        FakeProcess.next_pid += 1
        self.pid = FakeProcess.next_pid

    def is_alive(self) -> bool:
        return self.pid is not None and self.exitcode is None

    def exit(self, code: int) -> None:
        self.exitcode = code

    def kill(self) -> None:
        self.signals.append("SIGKILL")
        self.exitcode = -9

    def terminate(self) -> None:
        self.signals.append("SIGTERM")
        if not self.ignores_sigterm:
            self.exitcode = -15

    def join(self, timeout: float | None = None) -> None:
        pass


class FakeValue:
    """multiprocessing.RawValue: the running-batch marker the replica writes and the host reads."""

    def __init__(self, typecode: str, value: int) -> None:
        self.value = value


class FakeSpawn:
    """multiprocessing's spawn context, as far as ReplicaProcesses uses it."""

    def __init__(self) -> None:
        self.started: list[FakeProcess] = []

    def RawValue(self, typecode: str, value: int) -> FakeValue:  # noqa: N802
        return FakeValue(typecode, value)

    def Process(self, target: Callable[..., Any], args: tuple[Any, ...], name: str) -> FakeProcess:  # noqa: N802
        process = FakeProcess(target, args, name)
        self.started.append(process)
        return process


class FakeControl:
    """A host's commands (ControlChannel.next) and its clock: each call is one tick of POLL_MILLISECONDS.

    A tick is None (nothing arrives), bytes (a command arrives), or a callable (something
    happens meanwhile, such as a replica exiting; nothing arrives).
    """

    def __init__(self, ticks: list[Any], milliseconds_per_poll: int) -> None:
        self.ticks = list(ticks)
        self.polls = 0
        self.milliseconds_per_poll = milliseconds_per_poll

    def clock(self) -> float:
        return self.polls * self.milliseconds_per_poll / 1000

    def next(self, timeout: int) -> bytes | None:
        assert timeout == self.milliseconds_per_poll
        if not self.ticks:
            raise AssertionError(f"the host was still serving after {self.polls} polls; it should have stopped")
        self.polls += 1
        tick = self.ticks.pop(0)
        if callable(tick):
            tick()
            return None
        return tick


class FakeSocket:
    """A socket read by a thread (ControlChannel): each poll is one tick of its clock.

    A tick is None (nothing arrives) or bytes (a message arrives). Past the last tick, nothing
    arrives, ever: the silence ControlChannel must notice.
    """

    def __init__(self, ticks: Iterable[bytes | None], seconds_per_poll: float) -> None:
        self.ticks = iter(ticks)
        self.polls = 0
        self.seconds_per_poll = seconds_per_poll
        self.arrived: bytes | None = None
        self.closed = threading.Event()

    def clock(self) -> float:
        return self.polls * self.seconds_per_poll

    def poll(self, timeout: int) -> bool:
        self.polls += 1
        self.arrived = next(self.ticks, None)
        return self.arrived is not None

    def recv(self) -> bytes:
        assert self.arrived is not None
        arrived, self.arrived = self.arrived, None
        return arrived

    def close(self, linger: int | None = None) -> None:
        self.closed.set()
