"""The device host: one process per device. Starts the replicas, watches them, reports exits.

Started by the controller with CUDA_VISIBLE_DEVICES set to its one GPU (or empty for a CPU
device). Replicas are started with torch.multiprocessing's spawn method: a fresh interpreter per
replica, so no CUDA state is inherited and each imports the user's script itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from . import codec, protocol
from .parent_watch import die_with_parent
from .replica import ReplicaConfig, replica_main

STOP_GRACE_SECONDS = 5.0
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass
class HostConfig:
    device_index: int
    device_label: str
    torch_device: str
    replicas: int
    script: str
    events_endpoint: str
    task_endpoints: list[str]
    threads_per_replica: int
    controller_pid: int
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> "HostConfig":
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


def host_main(config: HostConfig) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller handles Ctrl-C for the run
    if config.threads_per_replica > 0:
        # Spawned replicas inherit this environment: OpenMP/MKL pools sized before torch loads.
        for name in THREAD_VARIABLES:
            os.environ[name] = str(config.threads_per_replica)

    import torch.multiprocessing as mp
    import zmq

    spawn = mp.get_context("spawn")
    processes: dict[int, Any] = {}

    def kill_replicas() -> None:
        for process in processes.values():
            if process.is_alive():
                process.kill()

    die_with_parent(config.controller_pid, on_orphaned=kill_replicas)

    def stop(signum: int, _frame: Any) -> None:
        # SIGTERM from the controller: ask the replicas to stop, then insist.
        for process in processes.values():
            if process.is_alive():
                process.terminate()
        for process in processes.values():
            process.join(STOP_GRACE_SECONDS)
        kill_replicas()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)

    context = zmq.Context()
    events = context.socket(zmq.PUSH)
    events.setsockopt(zmq.LINGER, 5000)
    events.connect(config.events_endpoint)

    host_pid = os.getpid()
    for index in range(config.replicas):
        replica_config = ReplicaConfig(
            device_index=config.device_index,
            device_label=config.device_label,
            torch_device=config.torch_device,
            replica=index,
            script=config.script,
            events_endpoint=config.events_endpoint,
            task_endpoint=config.task_endpoints[index],
            threads=config.threads_per_replica,
            parent_pid=host_pid,
            options=config.options,
        )
        process = spawn.Process(target=replica_main, args=(replica_config,), name=f"{config.device_label}/replica-{index}")
        process.start()
        processes[index] = process

    # Watch until every replica has exited; report each exit so the controller can account for it.
    running = dict(processes)
    while running:
        ready = wait([process.sentinel for process in running.values()])
        for index, process in list(running.items()):
            if process.sentinel in ready:
                process.join()
                del running[index]
                events.send(codec.encode(protocol.replica_exit(config.device_index, index, process.pid or -1, process.exitcode)))
    events.close()
    context.term()
    return 0
