"""What a replica sends back: the results of every batch it finished since its last send, in one message.

Every message wakes the controller (and ZeroMQ's I/O threads on both sides): on a no-op script a
message per batch cost the controller about 15 µs and the replica about 27 µs, more than
everything else a batch costs. So each batch's result is encoded as it finishes (an item whose
result cannot travel fails alone, with the reason) and then either sent at once or held, to go
with the next ones:

- sent at once when no batch is here to run next (the replica would wait for the controller, who
  must first learn that this one ended), when the batch took SLOW_BATCH_SECONDS or more (the
  controller sizes its credit and its timeouts by what it hears: a slow batch's result is news
  worth a message), or when what is held reaches MAX_HELD_BATCHES or MAX_HELD_BYTES; and what is
  held goes before the replica waits for the controller (batches.py: on_wait), since the batch
  that was here may have been taken back;
- held otherwise: under load, a message carries many batches; one batch at a time, one each.

A held result must never wait behind a batch that runs long: the controller would take the
finished batch for the running one (its --timeout would blame it) and could not send the next
batch in time. A watchdog thread sends held results once the batch running has run
HOLD_SECONDS. It sleeps on an event while nothing is held, so a replica that holds nothing pays
nothing for it. The serve loop and the watchdog share the events socket under one lock (a
ZeroMQ socket may pass between threads behind a full memory barrier, which the lock gives).

Which batch is running when the replica dies is not told by message but by the marker in
take_back.py: the batches whose results were held and lost are run again, unpunished.

Large arrays travel as frames of their own (codec.py), sent from the memory the script returned
without a copy, and a result that has them is sent at once. ZeroMQ reads that memory after
send_multipart returns, while its I/O thread writes the message out; the script may write into a
buffer it returned (a reused output array) when infer is called again. So such a message is
tracked, and the serve loop waits before the next infer until ZeroMQ is done with the memory
(borrowed_free). Arrays the codec copied anyway (a GPU tensor's .cpu(), a byte-order or layout
change) are nobody else's, and need no wait.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from . import codec, protocol

SLOW_BATCH_SECONDS = 0.001
HOLD_SECONDS = 0.005
MAX_HELD_BATCHES = 64
MAX_HELD_BYTES = 4 << 20


def encode_entry(entry: dict[str, Any], frames: codec.Frames | None = None) -> bytes:
    """Encode one batch's entry, its large arrays into `frames` (after those already there); an
    item whose result cannot travel fails alone, with the reason."""
    mark = len(frames) if frames is not None else 0
    try:
        return codec.encode(entry, frames)
    except (TypeError, ValueError, OverflowError):
        if frames is not None:
            del frames[mark:]  # what the failed attempt put there
        outcomes = []
        for outcome in entry["outcomes"]:
            try:
                codec.encode(outcome)
                outcomes.append(outcome)
            except (TypeError, ValueError, OverflowError) as exc:
                error = protocol.error_info(exc)
                error["message"] = f"the result cannot be sent to the controller: {exc}"
                outcomes.append({"ok": False, "error": error, "seconds": outcome["seconds"]})
        return codec.encode({**entry, "outcomes": outcomes}, frames)


class ResultSender:
    """Holds a replica's finished results and sends them, several to a message (see above)."""

    def __init__(
        self,
        events: Any,
        device: int,
        replica: int,
        hold_seconds: float = HOLD_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._events = events
        self._device, self._replica = device, replica
        self._hold = hold_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._frames = codec.Frames()  # the held results' large arrays, in order
        self._tracker: Any = None  # the last message that sent memory the script returned
        self._running_since = clock()  # when the batch running (or the wait for it) started
        self._armed = threading.Event()  # set while results are held: the watchdog watches
        self._closed = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="result-watchdog", daemon=True)
        self._watchdog.start()

    def started(self) -> None:
        """A batch starts: the watchdog measures it from now, if results are held meanwhile."""
        self._running_since = self._clock()

    def finished(self, entry: dict[str, Any], more_here: bool) -> None:
        """A batch ended; `more_here`: another batch (or the stop message) is here already."""
        with self._lock:  # the watchdog may send meanwhile: frames are numbered within a message
            frames_before = len(self._frames)
            encoded = encode_entry(entry, self._frames)
            self._running_since = self._clock()  # the next batch's time starts, whatever it waits for
            self._held.append(encoded)
            self._held_bytes += len(encoded)
            big = len(self._frames) > frames_before
            if big or not more_here or entry["busy"] >= SLOW_BATCH_SECONDS or len(self._held) >= MAX_HELD_BATCHES or self._held_bytes >= MAX_HELD_BYTES:
                self._send()
            elif not self._armed.is_set():
                self._armed.set()

    def borrowed_free(self) -> None:
        """Return once ZeroMQ no longer reads memory the script returned (call before infer runs again)."""
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            tracker.wait()

    def flush(self) -> None:
        """Send whatever is held (the serve loop ended)."""
        with self._lock:
            self._send()

    def close(self) -> None:
        """Send what is held and stop the watchdog; the socket stays the caller's."""
        with self._lock:
            self._send()
            self._closed.set()
            self._armed.set()  # under the lock: the watchdog cannot clear it after this
        self._watchdog.join()

    def _send(self) -> None:
        """Under the lock: one message with every held result."""
        if not self._held:
            return
        message = protocol.results_message(self._device, self._replica, self._held)
        frames = self._frames
        self._held = []
        self._held_bytes = 0
        self._frames = codec.Frames()
        if not frames:
            self._events.send(message, copy=False)
            return
        # Zero-copy: each frame is a view of an array's memory (a header this small is copied).
        tracker = self._events.send_multipart([message, *frames], copy=False, track=frames.borrowed)
        if frames.borrowed:
            self._tracker = tracker

    def _watch(self) -> None:
        while True:
            self._armed.wait()
            if self._closed.wait(self._hold):  # a sleep that close() ends
                return
            with self._lock:
                if self._held and self._clock() - self._running_since >= self._hold:
                    self._send()
                if not self._held and not self._closed.is_set():
                    self._armed.clear()
