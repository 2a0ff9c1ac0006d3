"""What a device host reports about its device's memory every few seconds (protocol: telemetry).

GPU devices, first reading that works:
  1. NVML through pynvml, when it is installed: memory and utilization, no CUDA context;
  2. `nvidia-smi --query-gpu`: the same figures, a subprocess every few seconds, no CUDA context;
  3. torch.cuda.mem_get_info: no utilization, and it costs the host a CUDA context (a few hundred
     MiB of the GPU), so it comes last.
CPU devices: the proportional set size (PSS, from /proc/<pid>/smaps_rollup) of the host and every
process under it, so memory that replicas share (load_shared) counts once; the machine's
MemAvailable as free and MemTotal as total; no utilization.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

NVIDIA_SMI_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class MemoryReading:
    used: int  # bytes
    free: int  # bytes
    total: int  # bytes
    utilization: Optional[float]  # percent, when the source knows it
    source: str


Probe = Callable[[], Optional[MemoryReading]]


def process_tree(root: int, proc: Path = Path("/proc")) -> list[int]:
    """The pid `root` and all its descendants (Linux: /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        try:
            tasks = list((proc / str(pid) / "task").iterdir())
        except OSError:
            continue  # exited meanwhile
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            pending.extend(int(child) for child in children)
    return found


def pss_bytes(pid: int, proc: Path = Path("/proc")) -> int:
    """A process's PSS in bytes: its private pages plus its share of pages mapped by others."""
    try:
        text = (proc / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return 0  # exited meanwhile, or a kernel without smaps_rollup
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def meminfo(proc: Path = Path("/proc")) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in (proc / "meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def cpu_probe(root: int, proc: Path = Path("/proc")) -> Probe:
    def read() -> Optional[MemoryReading]:
        try:
            machine = meminfo(proc)
        except OSError:
            return None
        used = sum(pss_bytes(pid, proc) for pid in process_tree(root, proc))
        total = machine.get("MemTotal", 0)
        return MemoryReading(used, machine.get("MemAvailable", machine.get("MemFree", 0)), total, None, "pss")

    return read


def _nvml_probe(gpu_id: str) -> Optional[Probe]:
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        if gpu_id.startswith(("GPU-", "MIG-")):
            handle = pynvml.nvmlDeviceGetHandleByUUID(gpu_id)
        else:
            handle = pynvml.nvmlDeviceGetHandleByIndex(int(gpu_id))
    except Exception:  # not installed, no driver, or an id NVML does not know
        return None

    def read() -> Optional[MemoryReading]:
        try:
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            utilization = float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except Exception:
            return None
        return MemoryReading(int(memory.used), int(memory.free), int(memory.total), utilization, "nvml")

    return read


def _nvidia_smi_probe(gpu_id: str) -> Optional[Probe]:
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    command = [executable, "-i", gpu_id, "--query-gpu=memory.used,memory.free,memory.total,utilization.gpu", "--format=csv,noheader,nounits"]

    def read() -> Optional[MemoryReading]:
        try:
            output = subprocess.run(command, capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_SECONDS, check=True).stdout
            used, free, total, utilization = (part.strip() for part in output.strip().splitlines()[0].split(","))
            mib = 1024 * 1024
            return MemoryReading(int(float(used) * mib), int(float(free) * mib), int(float(total) * mib), _number(utilization), "nvidia-smi")
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None

    return read if read() is not None else None


def _number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:
        return None  # "[N/A]" on some boards


def _torch_probe() -> Optional[Probe]:
    def read() -> Optional[MemoryReading]:
        try:
            import torch

            free, total = torch.cuda.mem_get_info(0)
        except Exception:
            return None
        return MemoryReading(int(total - free), int(free), int(total), None, "torch.cuda")

    return read


def device_probe(torch_device: str, host_pid: int) -> Probe:
    """The reading for this host's device; a probe that finds nothing returns None."""
    if not torch_device.startswith("cuda"):
        return cpu_probe(host_pid)
    # The host sees one GPU; CUDA_VISIBLE_DEVICES names it as NVML and nvidia-smi know it.
    gpu_id = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip() or "0"
    return _nvml_probe(gpu_id) or _nvidia_smi_probe(gpu_id) or _torch_probe()
