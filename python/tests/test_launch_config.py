"""The launch config a device host is started with: checked whole, a bad one stops the host with one line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fakes import launch_config

from gpu_orchestrate_worker import protocol
from gpu_orchestrate_worker.__main__ import main
from gpu_orchestrate_worker.launch_config import CONFIG_VARIABLE, EXIT_BAD_CONFIG, HostConfig, LaunchConfigError

PYTHON_DIR = Path(__file__).resolve().parent.parent
MATCHING = "install matching versions of gpu-orchestrate"
KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # the Z85 example key of ZeroMQ's CURVE documentation
KEYS = {"server_public": KEY, "client_public": KEY, "client_secret": KEY}


def refusal(config: Any) -> str:
    with pytest.raises(LaunchConfigError) as caught:
        HostConfig.from_json(json.dumps(config))
    return str(caught.value)


def test_the_config_the_controller_sends_is_accepted_whole() -> None:
    config = HostConfig.from_json(json.dumps(launch_config()))
    assert (config.device_index, config.device_label, config.torch_device) == (1, "cpu:1", "cpu")
    assert (config.endpoint, config.curve, config.incarnation) == ("ipc:///tmp/run/controller", {}, 0)
    assert (config.replicas, config.slots, config.generations, config.threads_per_replica) == (1, 2, [0], 2)
    assert (config.options, config.controller_pid, config.heartbeat_timeout_ms) == ({"scale": "2"}, 4242, 30_000)


def test_options_and_generations_may_be_left_out() -> None:
    config = launch_config()
    del config["options"], config["generations"]
    parsed = HostConfig.from_dict(config)
    assert (parsed.options, parsed.generations) == ({}, [])


def test_a_missing_key_is_named() -> None:
    config = launch_config()
    del config["script"], config["endpoint"]
    message = refusal(config)
    assert "invalid launch config: missing keys 'script', 'endpoint'." in message
    assert MATCHING in message


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("replicas", "2", "'replicas' must be an integer, got str '2'"),
        ("device_index", True, "'device_index' must be an integer, got bool True"),
        ("endpoint", ["ipc:///a"], "'endpoint' must be a string, got list ['ipc:///a']"),
        ("options", {"scale": 2}, "'options' must be a map of strings to strings, got dict {'scale': 2}"),
        ("generations", [0.5], "'generations' must be a list of integers, got list [0.5]"),
        ("script", None, "'script' must be a string, got NoneType None"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_with_what_it_should_be(key: str, value: Any, expected: str) -> None:
    assert f"invalid launch config: {expected}." in refusal(launch_config(**{key: value}))


def test_an_unknown_key_is_named() -> None:
    message = refusal(launch_config(gpu_memory_fraction=0.5))
    assert "invalid launch config: unknown key 'gpu_memory_fraction'." in message


def test_every_problem_is_named_at_once() -> None:
    config = launch_config(replica_count=2, threads_per_replica="all")
    del config["device_label"]
    message = refusal(config)
    assert "unknown key 'replica_count'; missing key 'device_label'; 'threads_per_replica' must be an integer, got str 'all'." in message


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"replicas": 3}, "'replicas' is 3 but 'slots' only 2"),
        ({"threads_per_replica": -1}, "'threads_per_replica' must not be negative, got -1"),
        ({"generations": [-1]}, "'generations' must not hold a negative number, got [-1]"),
        ({"heartbeat_timeout_ms": 0}, "'heartbeat_timeout_ms' must be more than 0, got 0"),
        ({"endpoint": "inproc://controller"}, "'endpoint' must be an ipc:// or tcp:// address, got 'inproc://controller'"),
        ({"endpoint": "tcp://10.0.0.5:5555"}, "'endpoint' is a tcp:// address but 'curve' holds no keys"),
        ({"curve": {"server_public": KEY}}, "'curve' must hold exactly server_public, client_public, client_secret, got the keys server_public"),
        ({"curve": {**KEYS, "client_secret": "short"}}, "'curve' holds a key that is not 40 characters of Z85 text"),
    ],
)
def test_values_the_host_could_not_run_with_are_refused(change: dict[str, Any], expected: str) -> None:
    assert expected in refusal(launch_config(**change))


def test_a_newer_controller_is_told_the_device_host_is_older() -> None:
    message = refusal(launch_config(protocol_version=protocol.PROTOCOL_VERSION + 1, a_key_of_the_next_version=1))
    v = protocol.PROTOCOL_VERSION
    assert message.startswith(f"gpu-orchestrate device host: the controller speaks protocol {v + 1}, this device host speaks {v}, so the device host is older: {MATCHING}")
    assert "a_key_of_the_next_version" not in message  # the version is the cause, not the keys it changed


def test_an_older_controller_is_told_it_is_older() -> None:
    message = refusal(launch_config(protocol_version=protocol.PROTOCOL_VERSION - 1))
    assert f"this device host speaks {protocol.PROTOCOL_VERSION}, so the controller is older: {MATCHING}" in message


def test_a_controller_that_sends_no_version_predates_it() -> None:
    config = launch_config()
    del config["protocol_version"]
    message = refusal(config)
    assert f"the controller sent no protocol version, so it is older than this device host, which speaks protocol {protocol.PROTOCOL_VERSION}: {MATCHING}" in message


@pytest.mark.parametrize("version", ["1", True, None])
def test_a_version_that_is_not_a_number_is_refused(version: Any) -> None:
    assert "not a number" in refusal(launch_config(protocol_version=version))


@pytest.mark.parametrize("text, expected", [("{'device_index': 1}", "is not JSON"), ("[1, 2]", "is not a JSON object but list [1, 2]")])
def test_a_config_that_is_not_a_json_object_is_refused(text: str, expected: str) -> None:
    with pytest.raises(LaunchConfigError) as caught:
        HostConfig.from_json(text)
    assert expected in str(caught.value)


def test_the_host_command_exits_with_the_config_code_and_the_message(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_VARIABLE, json.dumps(launch_config(protocol_version=99)))
    assert main(["host"]) == EXIT_BAD_CONFIG
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("gpu-orchestrate device host: the controller speaks protocol 99")


def test_as_the_controller_starts_it_a_refused_host_prints_one_line_and_exits_78() -> None:
    config = launch_config()
    del config["controller_pid"]
    done = subprocess.run(
        [sys.executable, "-m", "gpu_orchestrate_worker", "host"],
        cwd=PYTHON_DIR, capture_output=True, text=True, timeout=60, env={**os.environ, CONFIG_VARIABLE: json.dumps(config)},
    )
    assert done.returncode == EXIT_BAD_CONFIG == 78
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "invalid launch config: missing key 'controller_pid'." in done.stderr


def test_over_tcp_the_run_s_keys_come_with_the_config() -> None:
    config = HostConfig.from_dict(launch_config(endpoint="tcp://10.0.0.5:5555", curve=KEYS))
    assert (config.endpoint, config.curve) == ("tcp://10.0.0.5:5555", KEYS)


def test_a_config_file_only_its_owner_can_read_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "host.json"
    path.write_text(json.dumps(launch_config(endpoint="tcp://10.0.0.5:5555", curve=KEYS)))
    path.chmod(0o600)
    assert HostConfig.load(str(path)).curve == KEYS


def test_a_config_file_others_can_read_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "host.json"
    path.write_text(json.dumps(launch_config(endpoint="tcp://10.0.0.5:5555", curve=KEYS)))
    path.chmod(0o644)
    with pytest.raises(LaunchConfigError) as caught:
        HostConfig.load(str(path))
    assert f"the launch config file {path} may be read by other users (mode 0644)" in str(caught.value)
    assert f"chmod 600 {path}" in str(caught.value)


def test_without_a_file_or_the_variable_the_host_says_where_its_config_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
    with pytest.raises(LaunchConfigError) as caught:
        HostConfig.load(None)
    assert f"no launch config: the launcher sets {CONFIG_VARIABLE}" in str(caught.value)
    assert "--config-file PATH" in str(caught.value)


def test_the_config_is_read_from_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(launch_config(incarnation=4))))
    assert HostConfig.load("-").incarnation == 4
