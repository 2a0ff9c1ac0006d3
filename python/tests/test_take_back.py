"""Taking back a batch before it starts: never one that started, each confirmed once, skipped when it arrives.

The serve loop takes batches off the task socket; take-backs arrive on a socket of their own,
read by the listener thread (take_back.py). These tests drive both through fakes of the two
sockets, for either batch source, and the listener once through real ZeroMQ sockets.
"""

from __future__ import annotations

import threading
import time

import pytest
import zmq
from fakes import FakeEvents
from replica_harness import SOURCES, Replica, SourceMaker, wait_until

from gpu_orchestrate_worker import codec, protocol, wire
from gpu_orchestrate_worker.batches import received_batches
from gpu_orchestrate_worker.replica import serve
from gpu_orchestrate_worker.results import ResultSender
from gpu_orchestrate_worker.take_back import TakeBacks, listen


@SOURCES
def test_a_waiting_batch_is_taken_back_confirmed_once_and_never_run(make_source: SourceMaker) -> None:
    replica = Replica(make_source)
    replica.push(0, "first")
    replica.push(1, "second")
    assert replica.running.wait(10)
    replica.ask_back(1)
    replica.ask_back(1)  # asked twice: confirmed once
    wait_until(lambda: replica.take_backs_in.messages.empty(), "the listener to read the take-backs")
    wait_until(lambda: replica.confirmed == [1], "the confirmation")
    replica.finish()
    assert replica.confirmed == [1]
    assert replica.results() == [0]
    assert replica.infer_saw == [["first"]]


@SOURCES
def test_the_running_batch_is_never_taken_back_its_result_follows(make_source: SourceMaker) -> None:
    replica = Replica(make_source)
    replica.push(0, "first")
    assert replica.running.wait(10)
    replica.ask_back(0)
    wait_until(lambda: replica.take_backs_in.messages.empty(), "the listener to read the take-back")
    time.sleep(0.05)  # room for a wrong confirmation to be sent
    replica.finish()
    assert replica.confirmed == []
    assert replica.results() == [0]


@SOURCES
def test_a_take_back_that_arrives_before_its_batch_is_confirmed_and_the_batch_skipped(make_source: SourceMaker) -> None:
    # The two sockets are not ordered with each other: the controller sent batch 1, then its
    # take-back, and the take-back came first.
    replica = Replica(make_source)
    replica.push(0, "first")
    assert replica.running.wait(10)
    replica.ask_back(1)
    wait_until(lambda: replica.confirmed == [1], "the confirmation")
    replica.push(1, "second")
    replica.push(2, "third")
    replica.finish()
    assert replica.results() == [0, 2]
    assert replica.infer_saw == [["first"], ["third"]]
    assert "second" not in replica.preprocessed  # not even preprocessed: it was known to be taken back


@SOURCES
def test_batches_not_taken_back_run_in_the_order_they_came(make_source: SourceMaker) -> None:
    replica = Replica(make_source)
    for batch, item in enumerate(["first", "b", "c", "d"]):
        replica.push(batch, item)
    assert replica.running.wait(10)
    replica.ask_back(2)
    wait_until(lambda: replica.confirmed == [2], "the confirmation")
    replica.finish()
    assert replica.results() == [0, 1, 3]
    assert replica.infer_saw == [["first"], ["b"], ["d"]]


def test_a_batch_that_started_or_was_skipped_is_never_confirmed_later() -> None:
    take_backs = TakeBacks()
    assert take_backs.start(3)
    assert not take_backs.take_back(3)  # started: its result follows
    assert not take_backs.take_back(2)  # below the last one started: it started or was skipped
    assert take_backs.take_back(5)
    assert not take_backs.start(5)  # skipped when it arrives
    assert not take_backs.take_back(5)  # a late second ask for it
    assert take_backs.start(6)


def test_batch_ids_that_do_not_grow_are_a_protocol_error() -> None:
    take_backs = TakeBacks()
    assert take_backs.start(4)
    with pytest.raises(protocol.ProtocolError, match="batch 4 arrived after batch 4"):
        take_backs.start(4)


def test_a_socket_error_reaches_the_serve_loop() -> None:
    class BrokenTasks:
        def poll(self, timeout: int = 0) -> int:
            return 0

        def recv(self) -> bytes:
            raise RuntimeError("the socket is gone")

    sender = ResultSender(FakeEvents(), device=0, replica=0)
    with pytest.raises(RuntimeError, match="the socket is gone"):
        serve(received_batches(BrokenTasks()), lambda model, batch: batch, None, sender)
    sender.close()


def test_over_zeromq_a_replica_hears_what_is_sent_to_its_routing_id_and_its_listener_ends_with_the_context() -> None:
    context = zmq.Context()
    controller = context.socket(zmq.ROUTER)
    controller.setsockopt(zmq.LINGER, 0)
    controller.bind("inproc://controller")
    socket = wire.connect(context, "inproc://controller", {}, protocol.take_back_route(1, 1, 0))
    stopped = threading.Event()
    take_backs = TakeBacks()

    def confirm(batch: int) -> None:
        socket.send(codec.encode(protocol.taken_back(1, 1, batch)))

    thread = listen(socket, take_backs, confirm, lambda: (socket.close(linger=0), stopped.set()))
    # The socket announces itself (ZMQ_PROBE_ROUTER): an empty message from its routing id.
    assert controller.poll(10_000)
    assert controller.recv_multipart() == [protocol.take_back_route(1, 1, 0), b""]
    for batch in (7, 7, 8):  # 7 asked twice: confirmed once, so 8's confirmation comes next
        message = codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": "take_back", "batch": batch})
        controller.send_multipart([protocol.take_back_route(1, 1, 0), message])
    confirmations = []
    for _ in range(2):
        assert controller.poll(10_000)
        route, confirmation = controller.recv_multipart()
        confirmations.append((route, codec.decode(confirmation)))
    assert confirmations == [(protocol.take_back_route(1, 1, 0), protocol.taken_back(1, 1, batch)) for batch in (7, 8)]
    controller.close()
    context.term()  # returns only once the listener has closed its socket
    thread.join(10)
    assert stopped.is_set() and not thread.is_alive()
