"""Device telemetry on a CPU device: PSS of the host's process tree against the machine's memory."""

from __future__ import annotations

import os
import subprocess
import sys

from gpu_orchestrate_worker.telemetry import cpu_probe, device_probe, process_tree, pss_bytes


def test_the_process_tree_holds_the_root_and_its_children_and_their_pss_counts() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; data = bytearray(64 << 20); time.sleep(30)"], stdin=subprocess.PIPE)
    try:
        import time

        deadline = time.time() + 10
        while time.time() < deadline and pss_bytes(child.pid) < 64 << 20:
            time.sleep(0.05)
        assert child.pid in process_tree(os.getpid())
        assert pss_bytes(child.pid) >= 64 << 20  # the child's 64 MiB buffer, touched
        reading = cpu_probe(os.getpid())()
        assert reading is not None
        assert reading.source == "pss" and reading.utilization is None
        assert reading.used >= pss_bytes(os.getpid()) + (64 << 20)
        assert 0 < reading.free <= reading.total
    finally:
        child.kill()
        child.wait()


def test_a_cpu_device_reads_its_own_process_tree() -> None:
    reading = device_probe("cpu", os.getpid())()
    assert reading is not None and reading.source == "pss" and reading.used > 0


def test_a_pid_that_is_gone_weighs_nothing() -> None:
    assert pss_bytes(2**22 + 12345) == 0
    assert process_tree(2**22 + 12345) == [2**22 + 12345]
