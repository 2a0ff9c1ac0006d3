"""The device host's serve loop with fake sockets, processes and clock: commands, heartbeats, exits."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import FakeControl, FakeEvents, FakeSpawn, host_config

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.host import POLL_MILLISECONDS, Host
from gpu_orchestrate_worker.replica_processes import ReplicaProcesses
from gpu_orchestrate_worker.telemetry import MemoryReading

READING = MemoryReading(used=1 << 30, free=3 << 30, total=4 << 30, utilization=None, source="pss")


def command(kind: str, replica: int = 0, generation: int = 0) -> bytes:
    return codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": kind, "replica": replica, "generation": generation})


class Run:
    """One host serving the given ticks (see FakeControl), with every fake kept for the asserts."""

    def __init__(self, ticks: list[Any], **config: Any) -> None:
        self.spawn = FakeSpawn()
        self.events = FakeEvents()
        self.control = FakeControl(ticks, POLL_MILLISECONDS)
        config = host_config(**config)
        replicas = ReplicaProcesses(config, host_pid=55, spawn=self.spawn)
        self.host = Host(config, self.events, self.control, replicas, lambda: READING, pid=55, clock=self.control.clock)

    def serve(self) -> int:
        return self.host.serve()

    def stop_all(self) -> None:
        for process in self.spawn.started:
            if process.is_alive():
                process.exit(0)

    def exits(self) -> list[tuple[int, int, int | None]]:
        return [(m["replica"], m["generation"], m["exitcode"]) for m in self.events.sent if m["kind"] == "replica_exit"]


def test_the_device_memory_is_sent_before_any_replica_starts_and_the_configured_ones_start() -> None:
    run = Run([], replicas=2, generations=[3, 0])
    run.control.ticks = [command("shutdown"), run.stop_all]
    assert run.serve() == 0
    assert run.events.kinds()[:2] == ["telemetry", "heartbeat"]
    assert run.events.sent[0]["memory_used"] == 1 << 30
    assert [process.args[0].generation for process in run.spawn.started] == [3, 0]
    assert run.exits() == [(0, 3, 0), (1, 0, 0)]


def test_a_start_command_starts_that_replica_and_one_past_the_slots_is_ignored() -> None:
    run = Run([])
    run.control.ticks = [command("start", replica=1, generation=0), command("start", replica=2, generation=0), command("shutdown"), run.stop_all]
    run.serve()
    assert [process.name for process in run.spawn.started] == ["cpu:1/replica-0", "cpu:1/replica-1"]


def test_a_restart_reports_the_killed_replica_before_the_new_one_runs() -> None:
    run = Run([])
    run.control.ticks = [command("start", replica=0, generation=1), command("shutdown"), run.stop_all]
    run.serve()
    assert run.exits() == [(0, 0, -9), (0, 1, 0)]


def test_a_replica_that_dies_is_reported_and_the_host_keeps_serving() -> None:
    run = Run([])
    run.control.ticks = [lambda: run.spawn.started[0].exit(-11), None, None, command("start", replica=0, generation=1), command("shutdown"), run.stop_all]
    run.serve()
    assert run.exits() == [(0, 0, -11), (0, 1, 0)]
    assert run.control.ticks == []  # it served every tick: a host whose replicas all died stays


def test_a_replica_that_dies_in_a_batch_is_reported_with_that_batch() -> None:
    def die_running_batch_9() -> None:
        replica = run.spawn.started[0]
        replica.args[0].running.value = 9  # as its serve loop marks the batch it started
        replica.exit(-11)

    run = Run([])
    run.control.ticks = [die_running_batch_9, command("shutdown"), run.stop_all]
    run.serve()
    (exit,) = [m for m in run.events.sent if m["kind"] == "replica_exit"]
    assert (exit["exitcode"], exit["running"]) == (-11, 9)


def test_after_shutdown_the_host_waits_for_every_replica_to_exit() -> None:
    run = Run([])
    run.control.ticks = [command("shutdown"), None, None, run.stop_all]
    run.serve()
    assert run.control.polls == 4
    assert run.events.kinds()[-1] == "replica_exit"


def test_a_bad_command_is_ignored_with_a_line_naming_the_host(capsys: pytest.CaptureFixture[str]) -> None:
    run = Run([])
    bad = codec.encode({"v": protocol.PROTOCOL_VERSION, "kind": "pause"})
    run.control.ticks = [bad, command("shutdown"), run.stop_all]
    run.serve()
    assert "gpu-orchestrate host cpu:1: ignored a bad command: unknown host command 'pause'" in capsys.readouterr().err


def test_the_controller_s_heartbeats_are_heard_and_not_taken_for_commands(capsys: pytest.CaptureFixture[str]) -> None:
    run = Run([])
    run.control.ticks = [command("heartbeat"), command("heartbeat"), command("shutdown"), run.stop_all]
    assert run.serve() == 0
    assert [process.name for process in run.spawn.started] == ["cpu:1/replica-0"]
    assert "ignored" not in capsys.readouterr().err


def test_heartbeats_name_the_host_s_incarnation() -> None:
    run = Run([], incarnation=3)
    run.control.ticks = [command("shutdown"), run.stop_all]
    run.serve()
    assert [m for m in run.events.sent if m["kind"] == "heartbeat"] == [protocol.heartbeat(1, 55, 3)]


def test_heartbeats_go_every_second_and_telemetry_every_two() -> None:
    run = Run([])
    run.control.ticks = [None] * 49 + [command("shutdown"), run.stop_all]  # 5 seconds of polls
    run.serve()
    kinds = run.events.kinds()
    # Heartbeats at 0, 1, 2, 3, 4 and 5 s; telemetry before the replicas and at 2 and 4 s.
    assert (kinds.count("heartbeat"), kinds.count("telemetry")) == (6, 3)
