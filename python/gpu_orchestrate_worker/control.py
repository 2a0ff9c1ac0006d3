"""A device host's commands from the controller, read by a thread that also notices its silence.

The controller sends each host a heartbeat every second. A host on another machine cannot see
the controller's pid: if the controller is killed (even with SIGKILL) or the network to it goes
down, this silence is the only sign, and a host that heard nothing for its heartbeat_timeout_ms
stops its replicas and exits, so nothing holds a GPU afterwards. The thread reads the socket
whatever the host's own thread is doing (load_shared can take minutes), and hands every message
on to the host's serve loop through a SimpleQueue; Host.obey() ignores the heartbeats.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

import zmq

POLL_MILLISECONDS = 250


class ControlChannel:
    """Owns the command socket (zmq sockets belong to one thread); the serve loop calls next()."""

    def __init__(
        self,
        socket: Any,
        timeout_seconds: float,
        on_silence: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._socket = socket
        self._timeout = timeout_seconds
        self._on_silence = on_silence
        self._clock = clock
        self._arrived: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._stop = threading.Event()
        self.last_heard = clock()  # the controller gets the whole timeout for its first heartbeat
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)

    def start(self) -> ControlChannel:
        self._thread.start()
        return self

    def next(self, timeout_ms: int) -> bytes | None:
        """The next message from the controller, or None when none came within timeout_ms."""
        try:
            return self._arrived.get(timeout=timeout_ms / 1000)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop reading and close the socket (the thread closes it, within a poll)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._socket.poll(POLL_MILLISECONDS):
                    self._arrived.put(self._socket.recv())
                    self.last_heard = self._clock()
                    continue
                silent_for = self._clock() - self.last_heard
                if silent_for > self._timeout:
                    self._on_silence(silent_for)
                    return
        except zmq.ContextTerminated:
            pass  # the host is exiting
        finally:
            self._socket.close(linger=0)
