"""A host's replica processes, spawned through a fake spawn context: what each is started with, and its exit."""

from __future__ import annotations

from fakes import FakeSpawn, host_config

from gpu_orchestrate_worker.replica import ReplicaConfig, replica_main
from gpu_orchestrate_worker.replica_processes import ReplicaExit, ReplicaProcesses


def processes() -> tuple[ReplicaProcesses, FakeSpawn]:
    spawn = FakeSpawn()
    return ReplicaProcesses(host_config(), host_pid=777, spawn=spawn), spawn


def test_a_replica_is_started_with_the_host_config_and_its_own_place() -> None:
    replicas, spawn = processes()
    replicas.shared = {"table": [1, 2]}
    assert replicas.start(1, generation=4) is None
    (process,) = spawn.started
    assert process.target is replica_main and process.name == "cpu:1/replica-1"
    (config,) = process.args
    assert isinstance(config, ReplicaConfig)
    assert config.host == replicas.config  # the host's validated config itself, not a copy of some fields
    assert (config.replica, config.generation, config.parent_pid, config.shared) == (1, 4, 777, {"table": [1, 2]})
    assert (config.task_route, config.take_back_route) == (b"t/1/1/4", b"b/1/1/4")  # this start's own routing ids


def test_an_exit_is_collected_once_with_its_pid_code_and_generation() -> None:
    replicas, spawn = processes()
    replicas.start(0, generation=0)
    replicas.start(1, generation=2)
    first, second = spawn.started
    assert replicas.exits() == []
    second.exit(-11)
    assert replicas.exits() == [ReplicaExit(replica=1, pid=second.pid, exitcode=-11, generation=2)]
    assert replicas.exits() == []
    assert not replicas.empty
    first.exit(0)
    assert replicas.exits() == [ReplicaExit(0, first.pid, 0, 0)]
    assert replicas.empty


def test_an_exit_names_the_batch_its_replica_had_started_and_not_finished() -> None:
    # The replica writes the marker (take_back.py); the host reads it once the process is gone.
    replicas, spawn = processes()
    replicas.start(0, generation=0)
    replicas.start(1, generation=0)
    running, idle = spawn.started
    running.args[0].running.value = 17
    running.exit(-11)
    idle.exit(-9)
    assert sorted(replicas.exits()) == [ReplicaExit(0, running.pid, -11, 0, running=17), ReplicaExit(1, idle.pid, -9, 0, running=None)]


def test_a_restarted_replica_gets_a_marker_of_its_own() -> None:
    replicas, spawn = processes()
    replicas.start(0, generation=0)
    spawn.started[0].args[0].running.value = 3
    replaced = replicas.start(0, generation=1)
    assert replaced is not None and replaced.running == 3
    assert spawn.started[1].args[0].running.value == -1


def test_restarting_a_replica_still_running_kills_it_and_returns_its_exit() -> None:
    replicas, spawn = processes()
    replicas.start(0, generation=0)
    replaced = replicas.start(0, generation=1)  # the controller gave up on generation 0 (timed out)
    old, new = spawn.started
    assert old.signals == ["SIGKILL"]
    assert replaced == ReplicaExit(0, old.pid, -9, 0)
    assert new.is_alive() and replicas.exits() == []


def test_terminate_asks_every_replica_to_stop_and_kills_those_that_do_not() -> None:
    replicas, spawn = processes()
    replicas.start(0, generation=0)
    replicas.start(1, generation=0)
    polite, stubborn = spawn.started
    stubborn.ignores_sigterm = True
    replicas.terminate_all()
    assert polite.signals == ["SIGTERM"]
    assert stubborn.signals == ["SIGTERM", "SIGKILL"]
    assert not polite.is_alive() and not stubborn.is_alive()
