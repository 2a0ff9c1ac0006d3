"""A device host's replica processes: spawn them, watch for their exits, stop them.

Replicas are started with multiprocessing's spawn method: a fresh interpreter per replica, so no
CUDA state is inherited and each imports the user's script itself. An exit comes back as a value
(ReplicaExit) for the host to report; when to restart a replica is the controller's decision.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .launch_config import HostConfig
from .replica import ReplicaConfig, replica_main
from .take_back import NOT_RUNNING

STOP_GRACE_SECONDS = 5.0


class ReplicaExit(NamedTuple):
    replica: int
    pid: int  # -1 when the process never got one
    exitcode: int | None  # -N after signal N, as multiprocessing reports it
    generation: int
    running: int | None = None  # the batch it had started and not finished (take_back.py), if any


class ReplicaProcesses:
    """The running replicas of one host, by replica index, each with the generation it was started as."""

    def __init__(self, config: HostConfig, host_pid: int, spawn: Any = None) -> None:
        if spawn is None:
            import multiprocessing

            spawn = multiprocessing.get_context("spawn")
        self.config = config
        self.host_pid = host_pid
        self.spawn = spawn
        # What load_shared returned, in shared memory. Held for the host's whole life: replicas
        # (and restarted ones) map the same storage, and CUDA tensors must outlive their users.
        self.shared: Any = {}
        self._running: dict[int, tuple[Any, int, Any]] = {}  # replica -> (process, generation, running-batch marker)

    @property
    def empty(self) -> bool:
        """True once every replica started has exited and its exit was collected."""
        return not self._running

    def start(self, index: int, generation: int) -> ReplicaExit | None:
        """Start replica `index`; returns the exit of the one it replaces, if that was still running."""
        replaced = None
        previous = self._running.get(index)
        if previous is not None and previous[0].is_alive():
            previous[0].kill()  # a restart of a replica the controller gave up on (timed out)
            previous[0].join()
            replaced = self._collect(index)
        # The shared data is pickled by torch's reductions: a handle to the storage, not its bytes.
        # The marker is one shared 64-bit number that the replica writes and this host reads once
        # it has exited: no message, so it costs a batch nothing and survives any death.
        running = self.spawn.RawValue("q", NOT_RUNNING)
        config = ReplicaConfig(host=self.config, replica=index, generation=generation, parent_pid=self.host_pid, shared=self.shared, running=running)
        process = self.spawn.Process(target=replica_main, args=(config,), name=f"{self.config.device_label}/replica-{index}")
        process.start()
        self._running[index] = (process, generation, running)
        return replaced

    def exits(self) -> list[ReplicaExit]:
        """The replicas that have exited since the last call, collected."""
        return [self._collect(index) for index, (process, _, _) in list(self._running.items()) if process.exitcode is not None]

    def _collect(self, index: int) -> ReplicaExit:
        process, generation, running = self._running.pop(index)
        process.join()
        batch = running.value
        return ReplicaExit(index, process.pid or -1, process.exitcode, generation, None if batch == NOT_RUNNING else batch)

    def kill_all(self) -> None:
        for process, _, _ in list(self._running.values()):
            if process.is_alive():
                process.kill()

    def terminate_all(self) -> None:
        """Ask every replica to stop (SIGTERM), then kill those still running after the grace period."""
        processes = [process for process, _, _ in list(self._running.values())]
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(STOP_GRACE_SECONDS)
        self.kill_all()
