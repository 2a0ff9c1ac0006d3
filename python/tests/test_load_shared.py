"""The host's call of load_shared: once, with heartbeats while it runs, its failures named with the script."""

from __future__ import annotations

import dataclasses
import textwrap
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import torch
import zmq
from fakes import host_config

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.shared import Heartbeat, load_shared_data


# load() puts the script's folder on sys.path and the script in sys.modules: undone after each test.
pytestmark = pytest.mark.usefixtures("restore_import_state")


class CountingHeartbeat:
    """Counts how often the host beat while loading, without sockets."""

    def __init__(self) -> None:
        self.times = 0

    @contextmanager
    def beating(self) -> Iterator[None]:
        self.times += 1
        yield


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "store.py"
    path.write_text("def setup(ctx):\n    return None\n\ndef infer(model, batch):\n    return batch\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_script_without_load_shared_is_not_imported_and_gets_no_heartbeat_thread(tmp_path: Path) -> None:
    path = script(tmp_path, "raise SystemExit('imported')\n")
    heartbeat = CountingHeartbeat()
    assert load_shared_data(path, {}, heartbeat) == ({}, None)
    assert heartbeat.times == 0


def test_what_load_shared_returns_is_shared_and_gets_the_options(tmp_path: Path) -> None:
    path = script(tmp_path, """
        import torch
        def load_shared(options):
            return {"table": torch.full((3,), float(options["fill"]))}
    """)
    heartbeat = CountingHeartbeat()
    shared, error = load_shared_data(path, {"fill": "2"}, heartbeat)
    assert error is None and heartbeat.times == 1
    assert shared["table"].is_shared() and torch.equal(shared["table"], torch.full((3,), 2.0))


@pytest.mark.parametrize(
    "body, message",
    [
        ("def load_shared(options):\n    raise KeyError('store')\n", "store.py: load_shared() raised KeyError: 'store'"),
        ("def load_shared(options):\n    raise SystemExit(2)\n", "store.py: load_shared() raised SystemExit: 2"),
        ("import torch\ndef load_shared(options):\n    return {'model': torch.nn.Linear(1, 1)}\n", "store.py: load_shared()['model'] is a torch.nn.modules.linear.Linear"),
        ("import no_such_module_here\ndef load_shared(options):\n    return {}\n", "store.py: importing the script raised ModuleNotFoundError"),
    ],
)
def test_a_failure_comes_back_as_the_error_to_report_naming_the_script(tmp_path: Path, body: str, message: str) -> None:
    shared, error = load_shared_data(script(tmp_path, body), {}, CountingHeartbeat())
    assert shared == {} and error is not None
    assert message in error["message"]
    assert str(tmp_path) in error["message"]


def test_the_heartbeat_goes_out_from_its_own_thread_while_load_shared_runs(tmp_path: Path) -> None:
    # load_shared itself listens on the events endpoint: it returns once three heartbeats came,
    # which can only happen if they are sent while it runs.
    endpoint = f"inproc://events-{uuid.uuid4().hex}"
    path = script(tmp_path, """
        import zmq
        def load_shared(options):
            events = zmq.Context.instance().socket(zmq.ROUTER)
            events.bind(options["endpoint"])
            received = [events.recv_multipart()[-1] for _ in range(3) if events.poll(30_000)]
            events.close(linger=0)
            return {"heartbeats": received}
    """)
    config = dataclasses.replace(host_config(device_index=4, incarnation=2), endpoint=endpoint)  # inproc: this process only
    heartbeat = Heartbeat(zmq.Context.instance(), config, pid=99, seconds=0.01)
    shared, error = load_shared_data(path, {"endpoint": endpoint}, heartbeat)
    assert error is None
    assert [codec.decode(raw) for raw in shared["heartbeats"]] == [protocol.heartbeat(device=4, pid=99, incarnation=2)] * 3
    assert "heartbeat-while-loading" not in [thread.name for thread in threading.enumerate()]  # it stopped with the load
