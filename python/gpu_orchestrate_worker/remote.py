"""A device host started by another launcher than the controller's own (src/launch/).

    python -m gpu_orchestrate_worker.remote srun    a task of an srun step (its config in the environment)
    python -m gpu_orchestrate_worker.remote ssh     an ssh session (its environment and config on stdin)
    python -m gpu_orchestrate_worker.remote join                 --launcher external: rank from the environment
    python -m gpu_orchestrate_worker.remote doctor [--script P] [--path P]...  doctor --launcher slurm, on one node

Each ends in the same host as `python -m gpu_orchestrate_worker host`; the config (whose
controller_pid is 0: the host follows whatever started it) holds the run's keys over TCP, so it is
never on a command line: GPU_ORCHESTRATE_HOST_CONFIG in the environment (srun, and ssh's stdin
line), or the join folder's 0600 file of the rank (join).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Mapping

from .rank import RankError, rank_from_environment

# src/session/output-tails.ts shows lines that start so as warnings, without --verbose.
HOST_WARNING_PREFIX = "gpu-orchestrate device host warning: "
JOIN_VARIABLE = "GPU_ORCHESTRATE_JOIN"  # src/launch/external.ts
RANKS_FILE = "ranks.json"  # in the join folder: {"ranks": N}
# How long a joining host waits for its rank's config (the controller writes them as it starts).
JOIN_WAIT_SECONDS = 120.0
# A host that cannot join: the launcher's usage error, like a bad launch config (78).
EXIT_CANNOT_JOIN = 78


def host_command(config_json: str, ignore_sigterm: bool = False) -> int:
    """The host itself, as `host` runs it."""
    from .host import host_main
    from .launch_config import CONFIG_VARIABLE, EXIT_BAD_CONFIG, HostConfig, LaunchConfigError

    try:
        config = HostConfig.from_json(config_json)
    except LaunchConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_CONFIG
    os.environ.pop(CONFIG_VARIABLE, None)  # not for the user's script: over TCP it holds the keys
    return host_main(config, ignore_sigterm=ignore_sigterm)


def config_from_environment() -> str | None:
    from .launch_config import CONFIG_VARIABLE

    text = os.environ.get(CONFIG_VARIABLE)
    if text is None:
        print(f"gpu_orchestrate_worker.remote: no launch config: {CONFIG_VARIABLE} is not set (the controller's launcher sets it)", file=sys.stderr)
    return text


def gpu_warning(config_json: str, env: Mapping[str, str]) -> str | None:
    """A GPU host should see exactly its one GPU; with -n2 --gres=gpu:2 (no --gpus-per-task) every task sees both."""
    if json.loads(config_json).get("torch_device", "cpu") == "cpu":
        return None
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return "Slurm bound no GPU to this task (CUDA_VISIBLE_DEVICES is not set): it sees every GPU of the node and uses the first; ask for GPUs in the job (--gpus-per-node) so that each srun step gets its own"
    ids = [part for part in visible.split(",") if part.strip()]
    if len(ids) > 1:
        return f"this host sees {len(ids)} GPUs (CUDA_VISIBLE_DEVICES={visible}) and uses the first, cuda:0; the others sit idle unless each host gets its own (srun --gpus-per-task=1)"
    return None


def srun_task(config_json: str) -> int:
    node = os.environ.get("SLURMD_NODENAME", socket.gethostname())
    warning = gpu_warning(config_json, os.environ)
    if warning:
        print(f"{HOST_WARNING_PREFIX}on {node}: {warning}", flush=True)
    # Slurm sends SIGTERM to every process of every step at a time limit or a preemption, and to
    # the controller, which then drains the run and stops this host by command: see host_main.
    return host_command(config_json, ignore_sigterm=True)


def ssh_session(stdin: BinaryIO | None = None, command: list[str] | None = None) -> int:
    """The host as a child; its environment from stdin's first line; stdin's end (the ssh session's) stops it."""
    source = stdin if stdin is not None else sys.stdin.buffer
    line = source.readline()
    env: dict[str, str] = json.loads(line) if line.strip() else {}
    host = subprocess.Popen(
        command or [sys.executable, "-m", "gpu_orchestrate_worker", "host"],  # its config in env
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
    )

    def watch_input() -> None:
        source.read()  # returns at end of input: the controller closed it, or the connection is gone
        if host.poll() is None:
            host.terminate()  # the host stops its replicas, then exits

    threading.Thread(target=watch_input, name="ssh-input", daemon=True).start()
    return host.wait()


def join() -> int:
    folder = os.environ.get(JOIN_VARIABLE)
    if not folder:
        print(f"gpu-orchestrate join: {JOIN_VARIABLE} is not set; run the command the controller printed, whole", file=sys.stderr)
        return EXIT_CANNOT_JOIN
    try:
        rank, source = rank_from_environment(os.environ)
    except RankError as exc:
        print(f"gpu-orchestrate join: {exc}", file=sys.stderr)
        return EXIT_CANNOT_JOIN
    path = Path(folder) / f"rank-{rank}.json"
    try:
        ranks = int(json.loads((Path(folder) / RANKS_FILE).read_text())["ranks"])
    except (OSError, ValueError, KeyError):
        ranks = None  # an older controller, or a folder not there: found out below
    if ranks is not None and rank >= ranks:
        print(f"gpu-orchestrate join: rank {rank} (from {source}) is not one of this run's ranks, 0 to {ranks - 1}; start at most {ranks} hosts, or run the controller with --ranks {rank + 1}", file=sys.stderr)
        return EXIT_CANNOT_JOIN
    deadline = time.monotonic() + JOIN_WAIT_SECONDS
    while not path.exists():
        if not Path(folder).is_dir():
            print(f"gpu-orchestrate join: {folder} does not exist: that run has ended, or this machine does not share its filesystem", file=sys.stderr)
            return EXIT_CANNOT_JOIN
        if time.monotonic() > deadline:
            ranks = sorted(p.stem for p in Path(folder).glob("rank-*.json"))
            print(f"gpu-orchestrate join: the run has no rank {rank} (from {source}); it has {', '.join(ranks) or 'none yet'}", file=sys.stderr)
            return EXIT_CANNOT_JOIN
        time.sleep(0.2)
    joined: dict[str, Any] = json.loads(path.read_text())
    os.environ.update(joined["env"])  # its replicas inherit them
    print(f"gpu-orchestrate join: rank {rank} (from {source}) on {socket.gethostname()}", flush=True)
    return host_command(json.dumps(joined["config"]))


def _readable_file(path: str) -> bool:
    return os.access(path, os.R_OK) and Path(path).is_file()


def node_doctor(script: str | None, paths: list[str] | None = None) -> dict[str, Any]:
    """`paths`: a few of the run's items that are paths; each must be the same file on every node."""
    from .environment import doctor

    report = doctor()
    report["node"] = os.environ.get("SLURMD_NODENAME", socket.gethostname())
    report["package_version"] = package_version()
    report["script"] = None if script is None else {"path": script, "readable": _readable_file(script)}
    report["paths"] = [{"path": path, "readable": _readable_file(path)} for path in paths or []]
    return report


def package_version() -> str:
    """The version of the gpu-orchestrate this Python package came with (its package.json)."""
    try:
        return str(json.loads((Path(__file__).resolve().parents[2] / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_orchestrate_worker.remote", description="A device host started by srun, ssh or another launcher; started by gpu-orchestrate, not by hand (except join).")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("srun")
    commands.add_parser("ssh")
    commands.add_parser("join")
    doctor_command = commands.add_parser("doctor")
    doctor_command.add_argument("--script")
    doctor_command.add_argument("--path", action="append", default=[], help="an item that is a path: readable here?")
    args = parser.parse_args(argv)
    if args.command == "srun":
        config_json = config_from_environment()
        return srun_task(config_json) if config_json is not None else EXIT_CANNOT_JOIN
    if args.command == "ssh":
        return ssh_session()
    if args.command == "join":
        return join()
    json.dump(node_doctor(args.script, args.path), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
