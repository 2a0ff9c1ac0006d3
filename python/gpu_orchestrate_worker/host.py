"""The device host: one process per device. Starts the replicas, watches them, reports exits.

Started by the controller with CUDA_VISIBLE_DEVICES set to its one GPU (or empty for a CPU
device). Replicas are started with multiprocessing's spawn method: a fresh interpreter per
replica, so no CUDA state is inherited and each imports the user's script itself.

The host imports torch only when the script defines load_shared: torch.multiprocessing's spawn
context is the standard library's, and what torch adds (pickling a tensor as a handle to its
shared storage) it registers with multiprocessing's ForkingPickler when torch is imported, which
shared.py does before the replicas start. Importing torch for every host would hold back each
replica's start by one torch import (about 2 s), on the path to the first result.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import codec, protocol
from .parent_watch import die_with_parent
from .replica import ReplicaConfig, replica_main
from .script import ScriptError, check_source, load
from .shared import SharedDataError, raise_open_file_limit, share
from .telemetry import device_probe

STOP_GRACE_SECONDS = 5.0
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


HEARTBEAT_SECONDS = 1.0
TELEMETRY_SECONDS = 2.0
POLL_MILLISECONDS = 100
# load_shared raised (or returned what cannot be shared): the controller has the reason already.
EXIT_SHARED_ERROR = 3


@dataclass
class HostConfig:
    device_index: int
    device_label: str
    torch_device: str
    replicas: int  # how many to start now; a `start` command may add more, up to len(task_endpoints)
    script: str
    events_endpoint: str
    control_endpoint: str
    task_endpoints: list[str]
    threads_per_replica: int
    controller_pid: int
    options: dict[str, str] = field(default_factory=dict)
    generations: list[int] = field(default_factory=list)  # per replica: its first generation here

    @classmethod
    def from_json(cls, text: str) -> "HostConfig":
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


class Host:
    """Starts replicas when told, reports each exit and a heartbeat; decides nothing itself.

    When to restart a replica, and whether to give up on the device, is the controller's policy
    (src/scheduler/): the host only carries out `start` commands.
    """

    def __init__(self, config: HostConfig) -> None:
        import multiprocessing
        import zmq

        self.config = config
        self.spawn = multiprocessing.get_context("spawn")
        self.processes: dict[int, tuple[Any, int]] = {}  # replica -> (process, generation)
        self.context = zmq.Context()
        self.events = self.context.socket(zmq.PUSH)
        self.events.setsockopt(zmq.LINGER, 5000)
        self.events.connect(config.events_endpoint)
        self.control = self.context.socket(zmq.PULL)
        self.control.connect(config.control_endpoint)
        self.pid = os.getpid()
        # What load_shared returned, in shared memory. Held for the host's whole life: replicas
        # (and restarted ones) map the same storage, and CUDA tensors must outlive their users.
        self.shared: Any = {}
        self.read_memory = device_probe(config.torch_device, self.pid)

    def load_shared_data(self) -> bool:
        """Call the script's load_shared once, if it has one; False when it failed (reported)."""
        path = Path(self.config.script)
        try:
            if "load_shared" not in check_source(path):
                return True
        except ScriptError:
            return True  # the replicas report the script's problem, once each as before
        beating = threading.Event()
        beater = threading.Thread(target=self._heartbeat_until, args=(beating,), name="heartbeat-while-loading", daemon=True)
        beater.start()  # loading a large store takes minutes: the controller must not take us for hung
        error: protocol.ErrorInfo | None = None
        try:
            script = load(path)  # a ScriptError's message names the file and the cause
            assert script.load_shared is not None
            raise_open_file_limit()  # one descriptor per shared storage, in the host and each replica
            self.shared = share(script.load_shared(dict(self.config.options)))
        except ScriptError as exc:
            error = protocol.error_info(exc)
        except SharedDataError as exc:
            error = protocol.error_info(exc)
            error["message"] = f"{path}: {exc}"
        except BaseException as exc:  # the user's code: anything, SystemExit included
            error = protocol.error_info(exc)
            error["message"] = f"{path}: load_shared() raised {type(exc).__name__}: {exc}"
        finally:
            beating.set()
            beater.join()
        if error is not None:
            self.events.send(codec.encode(protocol.shared_error(self.config.device_index, self.pid, error)))
            return False
        return True

    def _heartbeat_until(self, done: threading.Event) -> None:
        import zmq

        socket = self.context.socket(zmq.PUSH)  # sockets are not thread-safe: this thread's own
        socket.setsockopt(zmq.LINGER, 1000)
        socket.connect(self.config.events_endpoint)
        while not done.wait(HEARTBEAT_SECONDS):
            socket.send(codec.encode(protocol.heartbeat(self.config.device_index, self.pid)))
        socket.close()

    def send_telemetry(self) -> None:
        reading = self.read_memory()
        if reading is None:
            return
        message = protocol.telemetry(
            self.config.device_index, self.pid, reading.used, reading.free, reading.total, reading.utilization, reading.source
        )
        self.events.send(codec.encode(message))

    def start_replica(self, index: int, generation: int) -> None:
        previous = self.processes.get(index)
        if previous is not None and previous[0].is_alive():
            previous[0].kill()  # a restart of a replica the controller gave up on (timed out)
            previous[0].join()
            self.report_exit(index)
        replica_config = ReplicaConfig(
            device_index=self.config.device_index,
            device_label=self.config.device_label,
            torch_device=self.config.torch_device,
            replica=index,
            script=self.config.script,
            events_endpoint=self.config.events_endpoint,
            task_endpoint=self.config.task_endpoints[index],
            threads=self.config.threads_per_replica,
            parent_pid=self.pid,
            options=self.config.options,
            generation=generation,
            shared=self.shared,  # pickled by torch's reductions: a handle to the storage, not its bytes
        )
        name = f"{self.config.device_label}/replica-{index}"
        process = self.spawn.Process(target=replica_main, args=(replica_config,), name=name)
        process.start()
        self.processes[index] = (process, generation)

    def report_exit(self, index: int) -> None:
        process, generation = self.processes.pop(index)
        message = protocol.replica_exit(self.config.device_index, index, process.pid or -1, process.exitcode, generation)
        self.events.send(codec.encode(message))

    def kill_all(self) -> None:
        for process, _ in self.processes.values():
            if process.is_alive():
                process.kill()

    def terminate_all(self) -> None:
        for process, _ in self.processes.values():
            if process.is_alive():
                process.terminate()
        for process, _ in self.processes.values():
            process.join(STOP_GRACE_SECONDS)
        self.kill_all()

    def serve(self) -> int:
        import zmq

        if not self.load_shared_data():
            self.events.close()
            self.control.close(linger=0)
            self.context.term()
            return EXIT_SHARED_ERROR
        self.send_telemetry()  # before any replica: the device's memory without them
        next_telemetry = time.monotonic() + TELEMETRY_SECONDS
        for index in range(self.config.replicas):
            generations = self.config.generations
            self.start_replica(index, generations[index] if index < len(generations) else 0)
        poller = zmq.Poller()
        poller.register(self.control, zmq.POLLIN)
        next_heartbeat = 0.0
        shutdown = False
        # Serve until told to shut down and every replica has exited. A host whose replicas all
        # died stays: the controller may start them again after a back-off.
        while not (shutdown and not self.processes):
            now = time.monotonic()
            if now >= next_heartbeat:
                self.events.send(codec.encode(protocol.heartbeat(self.config.device_index, self.pid)))
                next_heartbeat = now + HEARTBEAT_SECONDS
            if now >= next_telemetry:
                self.send_telemetry()
                next_telemetry = now + TELEMETRY_SECONDS
            if poller.poll(POLL_MILLISECONDS):
                try:
                    kind, replica, generation = protocol.parse_control(codec.decode(self.control.recv()))
                except (protocol.ProtocolError, ValueError) as exc:
                    print(f"gpu-orchestrate host {self.config.device_label}: ignored a bad command: {exc}", file=sys.stderr)
                else:
                    if kind == "shutdown":
                        shutdown = True
                    elif replica < len(self.config.task_endpoints):
                        # Also how a device grows under --workers-per-gpu auto: the controller
                        # bound a task socket for every replica it may add, and starts the next.
                        self.start_replica(replica, generation)
            for index, (process, _) in list(self.processes.items()):
                if process.exitcode is not None:
                    process.join()
                    self.report_exit(index)
        self.events.close()
        self.control.close(linger=0)
        self.context.term()
        return 0


def host_main(config: HostConfig) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller handles Ctrl-C for the run
    if config.threads_per_replica > 0:
        # Spawned replicas inherit this environment: OpenMP/MKL pools sized before torch loads.
        for name in THREAD_VARIABLES:
            os.environ[name] = str(config.threads_per_replica)
    host = Host(config)
    die_with_parent(config.controller_pid, on_orphaned=host.kill_all)

    def stop(signum: int, _frame: Any) -> None:
        # SIGTERM from the controller: ask the replicas to stop, then insist.
        host.terminate_all()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    return host.serve()
