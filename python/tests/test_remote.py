"""Hosts started by other launchers: rank detection, the GPU check under srun, the ssh session, joining."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gpu_orchestrate_worker import remote
from gpu_orchestrate_worker.rank import RankError, rank_from_environment


def test_rank_comes_from_the_first_launcher_variable_that_is_set() -> None:
    assert rank_from_environment({"JOB_COMPLETION_INDEX": "3"}) == (3, "JOB_COMPLETION_INDEX")
    assert rank_from_environment({"PMI_RANK": "1", "JOB_COMPLETION_INDEX": "3"}) == (1, "PMI_RANK")
    assert rank_from_environment({"OMPI_COMM_WORLD_RANK": "2"}) == (2, "OMPI_COMM_WORLD_RANK")
    assert rank_from_environment({"SLURM_PROCID": "0", "OMPI_COMM_WORLD_RANK": "5"}) == (0, "SLURM_PROCID")
    assert rank_from_environment({"GPU_ORCHESTRATE_RANK": "7", "SLURM_PROCID": "0"}) == (7, "GPU_ORCHESTRATE_RANK")
    assert rank_from_environment({"SLURM_PROCID": "", "PMI_RANK": "4"}) == (4, "PMI_RANK")


@pytest.mark.parametrize(("env", "message"), [({}, "none of GPU_ORCHESTRATE_RANK, SLURM_PROCID"), ({"PMI_RANK": "-1"}, "PMI_RANK='-1' is not a rank")])
def test_no_rank_or_a_bad_one_says_what_to_set(env: dict[str, str], message: str) -> None:
    with pytest.raises(RankError, match=message):
        rank_from_environment(env)


def test_a_gpu_host_under_srun_is_warned_when_it_sees_more_than_its_one_gpu() -> None:
    gpu = json.dumps({"torch_device": "cuda:0"})
    assert remote.gpu_warning(gpu, {"CUDA_VISIBLE_DEVICES": "3"}) is None
    assert "sees 2 GPUs (CUDA_VISIBLE_DEVICES=0,1)" in (remote.gpu_warning(gpu, {"CUDA_VISIBLE_DEVICES": "0,1"}) or "")
    assert "bound no GPU" in (remote.gpu_warning(gpu, {}) or "")
    assert remote.gpu_warning(json.dumps({"torch_device": "cpu"}), {}) is None


def test_the_ssh_session_gives_the_host_its_environment_from_stdin_and_stops_it_when_stdin_ends() -> None:
    read_end, write_end = os.pipe()
    child = [sys.executable, "-c", "import os, sys, time; print(os.environ['GPO_SECRET'], flush=True); time.sleep(60)"]
    result: list[int] = []
    with os.fdopen(read_end, "rb") as stdin:
        session = threading.Thread(target=lambda: result.append(remote.ssh_session(stdin=stdin, command=child)))
        session.start()
        os.write(write_end, b'{"GPO_SECRET": "s3cret"}\n')
        os.close(write_end)  # the ssh session ends
        session.join(30)
    assert not session.is_alive()
    assert result == [-15]  # the host got SIGTERM: it stops its replicas, then exits


def test_join_reads_its_ranks_config_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rank-1.json").write_text(json.dumps({"config": {"device_index": 1}, "env": {"OMP_NUM_THREADS": "3"}}))
    seen: dict[str, Any] = {}

    def fake_host(config_json: str, ignore_sigterm: bool = False) -> int:
        seen.update(config=json.loads(config_json), threads=os.environ.get("OMP_NUM_THREADS"), ignore=ignore_sigterm)
        return 0

    monkeypatch.setattr(remote, "host_command", fake_host)
    monkeypatch.setenv(remote.JOIN_VARIABLE, str(tmp_path))
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for name in ("GPU_ORCHESTRATE_RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert remote.join() == 0
    assert seen == {"config": {"device_index": 1}, "threads": "3", "ignore": False}


def test_join_refuses_without_the_folder_or_after_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("GPU_ORCHESTRATE_RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(remote.JOIN_VARIABLE, raising=False)
    assert remote.join() == remote.EXIT_CANNOT_JOIN
    assert "run the command the controller printed" in capsys.readouterr().err
    monkeypatch.setenv(remote.JOIN_VARIABLE, str(tmp_path / "gone"))
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "0")
    assert remote.join() == remote.EXIT_CANNOT_JOIN
    assert "that run has ended, or this machine does not share its filesystem" in capsys.readouterr().err


def test_the_node_doctor_says_whether_the_script_can_be_read_there(tmp_path: Path) -> None:
    script = tmp_path / "detect.py"
    script.write_text("def setup(ctx): pass\n")
    report = remote.node_doctor(str(script))
    assert report["script"] == {"path": str(script), "readable": True}
    assert remote.node_doctor(str(tmp_path / "missing.py"))["script"]["readable"] is False
    assert report["package_version"] == json.loads((Path(remote.__file__).resolve().parents[2] / "package.json").read_text())["version"]


def test_the_node_doctor_says_whether_each_sampled_item_path_can_be_read_there(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    report = remote.node_doctor(None, [str(image), str(tmp_path / "not-on-this-node.png"), str(tmp_path)])
    assert report["paths"] == [
        {"path": str(image), "readable": True},
        {"path": str(tmp_path / "not-on-this-node.png"), "readable": False},
        {"path": str(tmp_path), "readable": False},  # a folder is not an item's file
    ]
    assert remote.node_doctor(None)["paths"] == []


def test_join_refuses_a_rank_the_run_does_not_have_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ranks.json").write_text(json.dumps({"ranks": 2}))
    monkeypatch.setenv(remote.JOIN_VARIABLE, str(tmp_path))
    monkeypatch.setenv("GPU_ORCHESTRATE_RANK", "2")
    assert remote.join() == remote.EXIT_CANNOT_JOIN
    assert "rank 2 (from GPU_ORCHESTRATE_RANK) is not one of this run's ranks, 0 to 1" in capsys.readouterr().err
