"""Taking back a batch that waits in a replica, before it starts: never one that started, each once.

When a replica runs out of work while another holds a batch it has not started, the controller
asks for that batch back (`take_back`) and gives it to the idle replica. The batches themselves
wait where ZeroMQ keeps them, in the task socket's queue, and the serve loop takes them off that
socket itself: a hand-off through a thread would cost every batch a thread wake-up (about 12 µs
of a replica's CPU per batch, measured with `npm run bench -- overhead`), and only the rare
take-back needs a second thread.

So take-backs come on a socket of their own (the replica's take-back socket, which the controller
addresses by its routing id), read by a listener thread, and the two threads agree through
TakeBacks: the serve loop calls start() for each batch it takes off the task socket, the listener
calls take_back(); under one lock, a batch is either started (its result follows) or taken back
(confirmed with `taken_back`, skipped when it arrives), never both.

The two sockets are not ordered with each other: a take-back may arrive before its batch does.
That is why the state is "which ids have passed" rather than "which batches are here": ids on one
replica's task socket only grow (the controller numbers batches as it sends them), so an id at
or below the last one the serve loop took off the socket has started or been skipped, and any
other has not started yet. A message may carry several batches (protocol.py); the serve loop
takes them one by one, so "taken off the socket" means taken by the serve loop, in id order.

The batch that started and has not finished is also written to `running`, a number in memory
shared with the device host (replica_processes.py): when the replica dies, the host reports it,
and the controller blames that batch alone. The results of batches finished before it may not
have been sent yet (results.py): those batches are run again, unpunished.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable

import zmq

from . import codec, protocol


class RunningBatch:
    """The running-batch marker when no host shares one (tests, the profiler): a plain holder."""

    def __init__(self) -> None:
        self.value = NOT_RUNNING


NOT_RUNNING = -1


class TakeBacks:
    """Shared by the serve loop (start, finished) and the take-back listener (take_back)."""

    def __init__(self, running: Any = None) -> None:
        # The host's shared number (multiprocessing.RawValue('q')), or a holder of our own.
        self.running = running if running is not None else RunningBatch()
        self._lock = threading.Lock()
        self._passed = -1  # the highest batch id taken off the task socket (started or skipped)
        self._taken: set[int] = set()  # taken back and not yet off the task socket
        self._hooks: list[Callable[[int], None]] = []

    def start(self, batch: int) -> bool:
        """The serve loop took this batch off the task socket: True to run it, False to skip it
        (it was taken back). Raises ProtocolError if ids do not grow, which would break the
        guarantee above."""
        with self._lock:
            if batch <= self._passed:
                raise protocol.ProtocolError(f"batch {batch} arrived after batch {self._passed}: batch ids on a task socket must grow")
            self._passed = batch
            if batch in self._taken:
                self._taken.remove(batch)
                return False
            self.running.value = batch
            return True

    def finished(self, batch: int) -> None:
        """The batch's result is encoded: a death from now on is not its doing."""
        if self.running.value == batch:
            self.running.value = NOT_RUNNING

    def take_back(self, batch: int) -> bool:
        """The controller asks for this batch back: True (confirm it) when it has not started."""
        with self._lock:
            if batch <= self._passed or batch in self._taken:
                return False  # started, already skipped, or already taken back: nothing to confirm
            self._taken.add(batch)
        for hook in self._hooks:
            hook(batch)
        return True

    def is_taken(self, batch: int) -> bool:
        with self._lock:
            return batch in self._taken

    def on_taken_back(self, hook: Callable[[int], None]) -> None:
        """Call hook(batch) for each batch taken back (the preprocess source cancels its work)."""
        self._hooks.append(hook)


def listen(socket: Any, take_backs: TakeBacks, confirm: Callable[[int], None], on_stop: Callable[[], None]) -> threading.Thread:
    """Start the listener thread: it reads `take_back` messages off `socket` (the last frame is the
    message) until the socket's context is terminated, then calls on_stop() (which closes this
    thread's socket: zmq sockets belong to one thread)."""

    def run() -> None:
        try:
            while True:
                frames = socket.recv_multipart()
                try:
                    batch = protocol.parse_take_back(codec.decode(frames[-1]))
                except (protocol.ProtocolError, ValueError) as exc:
                    # Only the controller sends here; a take-back not acted on costs nothing
                    # (the batch runs here and its result follows), so say so and go on.
                    print(f"gpu-orchestrate replica: ignored a take_back message it cannot read ({exc})", file=sys.stderr)
                    continue
                if take_backs.take_back(batch):
                    confirm(batch)
        except zmq.ContextTerminated:
            pass  # the replica is stopping
        except Exception as exc:  # the socket failed
            print(f"gpu-orchestrate replica: the take-back listener stopped ({exc}); batches now always run here", file=sys.stderr)
        finally:
            on_stop()

    thread = threading.Thread(target=run, name="take-backs", daemon=True)
    thread.start()
    return thread
