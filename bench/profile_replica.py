"""Profile one replica's loop with cProfile, the controller played by this script.

    PYTHONPATH=python python3 bench/profile_replica.py [--batches 20000] [--batch-size 1] [--credit 2]

It binds the socket the controller binds (a ROUTER), runs replica_main in this process under cProfile
(the replica's loop in a thread, this script feeding it batches with --credit in flight, as the
controller's credit does: the batches it may send at once go in one message), and prints the
replica's CPU time per batch, the messages each way, and the top functions.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import os
import pstats
import shutil
import tempfile
import threading
import time
from pathlib import Path

import zmq

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.launch_config import HostConfig
from gpu_orchestrate_worker.replica import ReplicaConfig, replica_main

NOOP = Path(__file__).resolve().parent / "fixtures" / "noop.py"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--script", default=str(NOOP))
    parser.add_argument("--credit", type=int, default=2)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="go-profile-")
    atexit.register(shutil.rmtree, folder, True)  # the socket folder goes, however the script ends
    endpoint = f"ipc://{folder}/controller"
    context = zmq.Context()
    controller = context.socket(zmq.ROUTER)
    controller.bind(endpoint)
    host = HostConfig.from_dict({
        "protocol_version": protocol.PROTOCOL_VERSION, "device_index": 0, "device_label": "cpu:0", "torch_device": "cpu",
        "replicas": 1, "slots": 1, "script": args.script, "endpoint": endpoint, "curve": {}, "incarnation": 0,
        "threads_per_replica": 1, "controller_pid": os.getpid(), "heartbeat_timeout_ms": 30_000,
    })
    task_route = protocol.task_route(0, 0, 0)

    def receive() -> dict:
        while True:  # skips the sockets' empty hellos (ZMQ_PROBE_ROUTER)
            payload = controller.recv_multipart()[1]
            if payload:
                return codec.decode(payload)
    config = ReplicaConfig(host=host, replica=0, generation=0, parent_pid=os.getppid())  # the replica watches its parent: ours
    profile = cProfile.Profile()
    cpu: dict[str, float] = {}

    def replica() -> None:
        # The replica's loop, profiled; thread CPU time, so the feeder below is not counted.
        try:
            replica_main_profiled()
        except SystemExit:
            pass

    def replica_main_profiled() -> None:
        profile.enable()
        replica_main(config)
        profile.disable()

    import signal as signal_module

    signal_module.signal = lambda *a, **k: None  # replica_main ignores SIGINT: only possible in the main thread
    thread = threading.Thread(target=replica)
    thread.start()
    assert receive()["kind"] == "ready"
    replica_clock = time.pthread_getcpuclockid(thread.ident or 0)
    cpu_at_ready = time.clock_gettime(replica_clock)
    profile.disable()  # torch's import and the script's setup are the start-up's, not the loop's
    profile.clear()
    profile.enable()
    inputs = list(range(args.batch_size))
    in_flight = 0
    sent = 0
    messages = {"sent": 0, "received": 0}
    started = time.perf_counter()
    while sent < args.batches or in_flight:
        bundle = []
        while in_flight < args.credit and sent < args.batches:
            bundle.append({"batch": sent, "inputs": inputs})
            sent += 1
            in_flight += 1
        if bundle:
            controller.send_multipart([task_route, codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": "batches", "batches": bundle})])
            messages["sent"] += 1
        in_flight -= len(receive()["results"])
        messages["received"] += 1
    wall = time.perf_counter() - started
    cpu["seconds"] = time.clock_gettime(replica_clock) - cpu_at_ready
    controller.send_multipart([task_route, codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": "stop"})])
    thread.join()
    print(f"{args.batches} batches of {args.batch_size}, credit {args.credit}: {args.batches / wall:.0f} batches/s; replica CPU {cpu['seconds'] / args.batches * 1e6:.1f} us per batch (profiled: cProfile adds to it); messages {messages['sent']} sent, {messages['received']} received")
    pstats.Stats(profile).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
