"""Children die with their parent: no replica or host outlives the run that started it.

On Linux the kernel delivers SIGKILL when the parent exits (PR_SET_PDEATHSIG), which covers a
controller that is itself SIGKILLed. A polling thread backs it up on other systems.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from typing import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int, on_orphaned: Callable[[], None] | None = None) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the polling thread below still works
    if os.getppid() != expected_parent:  # the parent died before we could ask to follow it
        _exit_orphaned(on_orphaned)

    def watch() -> None:
        while os.getppid() == expected_parent:
            time.sleep(0.5)
        _exit_orphaned(on_orphaned)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _exit_orphaned(on_orphaned: Callable[[], None] | None) -> None:
    if on_orphaned is not None:
        try:
            on_orphaned()
        finally:
            os._exit(1)
    os._exit(1)
