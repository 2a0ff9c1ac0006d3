"""Memory of N replicas that share one large tensor (load_shared) against N that each load it.

    npm run build && python3 bench/shared_memory.py [--gib 1] [--replicas 4]

Runs gpu-orchestrate (dist/src/bin.js) on one CPU device with --workers-per-gpu N three times:
the tensor made once by load_shared and shared; made by every replica in setup; and no tensor
(the processes' own cost). While every replica holds its data (bench/shared_memory_job.py makes
each read all of it, then wait), it sums the proportional set size (PSS, from
/proc/<pid>/smaps_rollup) of the device host and every process under it, so a page mapped by k
processes counts 1/k in each: the total is the memory the device's processes really take.
Prints a table; "above no tensor" is the total less the same processes' total without the tensor
(python and torch cost each process ~150 MiB of its own, shared or not). Linux only (smaps_rollup); needs about N+1 times --gib of free memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
from gpu_orchestrate_worker.telemetry import process_tree, pss_bytes  # noqa: E402

BIN = ROOT / "dist" / "src" / "bin.js"
JOB = Path(__file__).resolve().parent / "shared_memory_job.py"
GiB = 2**30


def host_pid(controller: int) -> int | None:
    """The device host: the controller's child running `gpu_orchestrate_worker host`."""
    for pid in process_tree(controller)[1:]:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gpu_orchestrate_worker" in command and b"host" in command:
            return pid
    return None


def measure(mode: str, gib: float, replicas: int, work: Path) -> dict[str, float]:
    signal = work / f"signal-{mode}"
    signal.mkdir()
    items = work / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"i{n}"}) + "\n" for n in range(replicas)))
    command = [
        "node", str(BIN), "--script", str(JOB), "--inputs", str(items), "--output", str(work / f"out-{mode}.jsonl"),
        "--gpus", "cpu:1", "--workers-per-gpu", str(replicas), "--batch-size", "1", "--quiet",
        "--opt", f"mode={mode}", "--opt", f"gib={gib}", "--opt", f"signal={signal}",
    ]
    controller = subprocess.Popen(command)
    try:
        deadline = time.time() + 300
        while len(list(signal.glob("ready-*"))) < replicas:
            if controller.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"mode {mode}: the run ended or stalled before its {replicas} replicas were ready (exit {controller.returncode})")
            time.sleep(0.1)
        host = host_pid(controller.pid)
        if host is None:
            raise RuntimeError(f"mode {mode}: no device host found under the controller (pid {controller.pid})")
        replica_pids = {int(path.read_text()) for path in signal.glob("ready-*")}
        samples = []
        for _ in range(5):  # a few readings: the largest is the steady state
            tree = process_tree(host)
            pss = {pid: pss_bytes(pid) for pid in tree}
            samples.append((sum(pss.values()), pss[host], sum(pss.get(pid, 0) for pid in replica_pids), len(tree)))
            time.sleep(0.3)
        total, host_pss, replicas_pss, processes = max(samples)
        (signal / "release").write_text("")
        if controller.wait(timeout=120) != 0:
            raise RuntimeError(f"mode {mode}: gpu-orchestrate exited with {controller.returncode}")
        return {"total": total, "host": host_pss, "replicas": replicas_pss, "processes": processes}
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gib", type=float, default=1.0, help="size of the tensor, GiB (default 1)")
    parser.add_argument("--replicas", type=int, default=4, help="replicas on the device (default 4)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON (for npm run bench)")
    args = parser.parse_args(argv)
    if not BIN.is_file():
        print(f"{BIN} is missing: run `npm run build` first", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="go-bench-shm-") as folder:
        for mode, label in (("shared", "load_shared (shared memory)"), ("own", "each replica loads its own"), ("none", "no tensor (process cost)")):
            result = measure(mode, args.gib, args.replicas, Path(folder))
            rows.append((label, result))
    if not args.json:
        print(f"{args.replicas} replicas on cpu:0, a {args.gib:g} GiB float32 tensor; PSS of the device host and every process under it")
    # What the tensor adds: the total less the same processes' total without it.
    baseline = rows[-1][1]["total"]
    header = ("data", "processes", "host PSS", "replicas PSS", "total PSS", "above no tensor")
    table = [header] + [
        (label, str(int(r["processes"])), f"{r['host'] / GiB:.2f} GiB", f"{r['replicas'] / GiB:.2f} GiB", f"{r['total'] / GiB:.2f} GiB", f"{(r['total'] - baseline) / GiB:.2f} GiB")
        for label, r in rows
    ]
    if args.json:
        print(json.dumps({"replicas": args.replicas, "gib": args.gib, "columns": header, "rows": table[1:]}))
        return 0
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(widths[0]) if column == 0 else cell.rjust(widths[column]) for column, cell in enumerate(row)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
