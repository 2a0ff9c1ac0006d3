"""The device host: one process per device. Carries out the controller's commands; reports.

Started by a launcher with CUDA_VISIBLE_DEVICES set to its one GPU (or empty for a CPU device),
and a launch config (launch_config.py). It loads the script's shared data, if any (shared.py),
starts the replicas (replica_processes.py), then serves: `start` and `shutdown` commands from the
controller (control.py, which also stops the host when the controller falls silent), a heartbeat
every second, the device's memory every two seconds (telemetry.py), and each replica's exit as it
happens.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

from . import codec, protocol, wire
from .control import ControlChannel
from .launch_config import HostConfig
from .parent_watch import die_with_parent
from .replica_processes import ReplicaExit, ReplicaProcesses
from .shared import Heartbeat, load_shared_data
from .telemetry import Probe, device_probe

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
TELEMETRY_SECONDS = 2.0
POLL_MILLISECONDS = 100
# load_shared raised (or returned what cannot be shared): the controller has the reason already.
EXIT_SHARED_ERROR = 3
# Heard nothing from the controller for heartbeat_timeout_ms (EX_UNAVAILABLE in sysexits.h).
EXIT_CONTROLLER_SILENT = 69


class Host:
    """Starts replicas when told, reports each exit and a heartbeat; decides nothing itself.

    When to restart a replica, and whether to give up on the device, is the controller's policy
    (src/scheduler/): the host only carries out `start` commands. The sockets, the commands, the
    replica processes, the memory probe and the clock come from outside, so the loop runs with fakes.
    """

    def __init__(
        self,
        config: HostConfig,
        events: Any,
        control: Any,
        replicas: ReplicaProcesses,
        read_memory: Probe,
        pid: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.events = events  # to the controller
        self.control = control  # the controller's commands, as ControlChannel.next() hands them on
        self.replicas = replicas
        self.read_memory = read_memory
        self.pid = pid
        self.clock = clock

    def send(self, message: dict[str, Any]) -> None:
        self.events.send(codec.encode(message))

    def send_telemetry(self) -> None:
        reading = self.read_memory()
        if reading is not None:
            device = self.config.device_index
            self.send(protocol.telemetry(device, self.pid, reading.used, reading.free, reading.total, reading.utilization, reading.source))

    def report(self, exit: ReplicaExit | None) -> None:
        if exit is not None:
            self.send(protocol.replica_exit(self.config.device_index, exit.replica, exit.pid, exit.exitcode, exit.generation, exit.running))

    def obey(self, raw: bytes) -> bool:
        """Carry out one control message; True when it is the shutdown command."""
        try:
            kind, replica, generation = protocol.parse_control(codec.decode(raw))
        except (protocol.ProtocolError, ValueError) as exc:
            print(f"gpu-orchestrate host {self.config.device_label}: ignored a bad command: {exc}", file=sys.stderr)
            return False
        if kind == "shutdown":
            return True
        if kind == "start" and replica < self.config.slots:
            # Also how a device grows under --workers-per-gpu auto: the controller starts the next slot.
            self.report(self.replicas.start(replica, generation))
        return False  # a heartbeat: ControlChannel noted it

    def serve(self) -> int:
        """Start the first replicas and serve until told to shut down and every replica has exited."""
        self.send_telemetry()  # before any replica: the device's memory without them
        next_telemetry = self.clock() + TELEMETRY_SECONDS
        generations = self.config.generations
        for index in range(self.config.replicas):
            self.report(self.replicas.start(index, generations[index] if index < len(generations) else 0))
        next_heartbeat = 0.0
        shutdown = False
        # A host whose replicas all died stays: the controller may start them again after a back-off.
        while not (shutdown and self.replicas.empty):
            now = self.clock()
            if now >= next_heartbeat:
                self.send(protocol.heartbeat(self.config.device_index, self.pid, self.config.incarnation))
                next_heartbeat = now + protocol.HEARTBEAT_SECONDS
            if now >= next_telemetry:
                self.send_telemetry()
                next_telemetry = now + TELEMETRY_SECONDS
            command = self.control.next(POLL_MILLISECONDS)
            if command is not None:
                shutdown = self.obey(command) or shutdown
            for exit in self.replicas.exits():
                self.report(exit)
        return 0


def _say(text: str) -> None:
    """A line to stderr that cannot fail: the controller reading it may be gone (a broken pipe)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def host_main(config: HostConfig, ignore_sigterm: bool = False) -> int:
    """`ignore_sigterm`: started by srun (remote.py), where SIGTERM is Slurm's, not the controller's."""
    import zmq

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller handles Ctrl-C for the run
    if config.threads_per_replica > 0:
        # Spawned replicas inherit this environment: OpenMP/MKL pools sized before torch loads.
        for name in THREAD_VARIABLES:
            os.environ[name] = str(config.threads_per_replica)
    pid = os.getpid()
    context = zmq.Context()
    events = wire.connect(context, config.endpoint, config.curve)
    replicas = ReplicaProcesses(config, pid)

    def controller_silent(seconds: float) -> None:
        _say(
            f"gpu-orchestrate host {config.device_label}: heard nothing from the controller for {seconds:.0f} s "
            "(it was stopped or killed, or the network to it is down); stopping its replicas and exiting"
        )
        try:
            replicas.kill_all()
        finally:
            os._exit(EXIT_CONTROLLER_SILENT)

    control_socket = wire.connect(context, config.endpoint, config.curve, protocol.host_route(config.device_index, config.incarnation), linger=0)
    control = ControlChannel(control_socket, config.heartbeat_timeout_ms / 1000, controller_silent).start()
    host = Host(config, events, control, replicas, device_probe(config.torch_device, pid), pid)
    # controller_pid 0: started by another launcher (srun's slurmstepd, an ssh session, a pod's
    # shell), whose pid the controller does not know: follow whatever started this host. Either
    # way a host that stops hearing the controller's heartbeat exits (69).
    die_with_parent(config.controller_pid or os.getppid(), on_orphaned=replicas.kill_all)

    def stop(signum: int, _frame: Any) -> None:
        # SIGTERM from the controller: ask the replicas to stop, then insist.
        replicas.terminate_all()
        os._exit(128 + signum)

    # Under srun, SIGTERM comes from Slurm, to every process of the step (a time limit, a
    # preemption, scancel), and to the controller too, which then drains the run (--grace) and
    # stops this host by command. Dying of it first would throw the running batches away. The
    # replicas, spawned after this, inherit the ignored signal (spawn does not restore it).
    signal.signal(signal.SIGTERM, signal.SIG_IGN if ignore_sigterm else stop)
    heartbeat = Heartbeat(context, config, pid)
    replicas.shared, error = load_shared_data(Path(config.script), config.options, heartbeat)
    code = EXIT_SHARED_ERROR
    if error is None:
        code = host.serve()
        # The last message: a host that someone else started (--launcher external) is known to be
        # gone by it, and the controller does not close its sockets before it came.
        host.send(protocol.host_exit(config.device_index, pid, config.incarnation, code))
    else:
        host.send(protocol.shared_error(config.device_index, pid, error))
    events.close()
    control.close()
    context.term()
    return code
