"""A host's commands, read by a thread that stops the host when the controller falls silent."""

from __future__ import annotations

import itertools
import threading

from fakes import FakeSocket

from gpu_orchestrate_worker.control import POLL_MILLISECONDS, ControlChannel

SECONDS_PER_POLL = POLL_MILLISECONDS / 1000


def run_until_silent(ticks: list[bytes | None], timeout_seconds: float) -> tuple[ControlChannel, FakeSocket, list[float]]:
    socket = FakeSocket(ticks, SECONDS_PER_POLL)
    silences: list[float] = []
    fell_silent = threading.Event()

    def on_silence(seconds: float) -> None:
        silences.append(seconds)
        fell_silent.set()

    channel = ControlChannel(socket, timeout_seconds, on_silence, clock=socket.clock).start()
    assert fell_silent.wait(30), "the channel never noticed the silence"
    assert socket.closed.wait(30)
    return channel, socket, silences


def test_every_message_is_handed_on_in_order() -> None:
    channel, _, _ = run_until_silent([b"start", None, b"heartbeat", b"shutdown"], timeout_seconds=1)
    assert [channel.next(0), channel.next(0), channel.next(0), channel.next(0)] == [b"start", b"heartbeat", b"shutdown", None]


def test_silence_longer_than_the_timeout_is_reported_once_counted_from_the_last_message() -> None:
    # Messages on polls 1 and 3, then nothing: silent for more than 2 s once 9 more polls pass.
    _, socket, silences = run_until_silent([b"heartbeat", None, b"heartbeat"], timeout_seconds=2)
    assert silences == [socket.polls * SECONDS_PER_POLL - 3 * SECONDS_PER_POLL]
    assert silences[0] > 2
    assert socket.polls == 3 + 9


def test_with_no_message_at_all_the_timeout_counts_from_the_start() -> None:
    _, socket, silences = run_until_silent([], timeout_seconds=1)
    assert socket.polls == 5 and silences == [5 * SECONDS_PER_POLL]


def test_closing_stops_the_thread_and_closes_the_socket_without_a_silence() -> None:
    socket = FakeSocket(itertools.repeat(b"heartbeat"), SECONDS_PER_POLL)  # a controller that never falls silent
    silences: list[float] = []
    channel = ControlChannel(socket, 1, silences.append, clock=socket.clock).start()
    assert channel.next(30_000) == b"heartbeat"
    channel.close()
    assert socket.closed.is_set() and silences == []
