"""The sockets a host or replica connects to the controller's one ROUTER socket.

Every one is a DEALER. One that the controller sends to is named with a routing id
(protocol.task_route and the others) and announces each (re)connection with an empty message
(ZMQ_PROBE_ROUTER), so the controller sends what waits for it at once. Over TCP each socket is a
CURVE client with the run's keys (the launch config's `curve`): the controller admits no other key.
"""

from __future__ import annotations

from typing import Any

import zmq

# Deliver what was sent before the socket closes (a last result, a replica's exit) for this long.
DELIVER_MILLISECONDS = 5000


def connect(context: Any, endpoint: str, curve: dict[str, str], routing_id: bytes | None = None, linger: int = DELIVER_MILLISECONDS) -> Any:
    """A DEALER connected to the controller: named `routing_id` when the controller sends to it."""
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, linger)
    if curve:
        socket.setsockopt(zmq.IPV6, 1)  # a tcp:// endpoint may name an IPv6 address
        socket.curve_serverkey = curve["server_public"].encode()
        socket.curve_publickey = curve["client_public"].encode()
        socket.curve_secretkey = curve["client_secret"].encode()
    if routing_id is not None:
        socket.setsockopt(zmq.ROUTING_ID, routing_id)
        socket.setsockopt(zmq.PROBE_ROUTER, 1)
    socket.connect(endpoint)
    return socket
