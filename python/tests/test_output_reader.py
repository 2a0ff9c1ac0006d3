"""read_output: a run's JSONL output back in Python, arrays and bytes restored."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gpu_orchestrate_worker import read_output

ALIGNMENT = 64  # the controller writes each array at a 64-byte aligned offset (src/journal)


class ArraysFile:
    """Writes arrays as the controller does: zero padding to 64 bytes, then little-endian C-order bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_bytes(b"")

    def add(self, array: np.ndarray, dtype_name: str | None = None) -> dict[str, Any]:
        with self.path.open("ab") as file:
            size = file.tell()
            file.write(b"\0" * (-size % ALIGNMENT))
            offset = file.tell()
            data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
            file.write(data.tobytes())
        ref = {"dtype": dtype_name or array.dtype.name, "shape": list(array.shape), "file": self.path.name, "offset": offset}
        return {"__ndarray__": ref}


@pytest.fixture
def run_output(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    output = tmp_path / "results.jsonl"
    arrays = ArraysFile(tmp_path / "results.arrays")
    expected = {
        "embedding": np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
        "mask": np.array([[True, False, True]]),
        "ids": np.array([2**63 - 1, -(2**63), 7], dtype=np.int64),
        "scalar": np.array(0.25, dtype=np.float64),
        "bf16_bits": np.array([0x3F80, 0xC020, 0x7FC0], dtype=np.uint16),  # 1.0, -2.5, NaN
        "png": b"\x89PNG\r\n\x1a\n\x00\xff",
    }
    lines = [
        {
            "id": "a.png",
            "input": "a.png",
            "ok": True,
            "result": {
                "embedding": arrays.add(expected["embedding"]),
                "extras": [{"mask": arrays.add(expected["mask"])}, arrays.add(expected["ids"])],
                "scalar": arrays.add(expected["scalar"]),
                "bf16": arrays.add(expected["bf16_bits"], dtype_name="bfloat16"),
                "png": {"__bytes__": base64.b64encode(expected["png"]).decode("ascii")},
                "label": "cat",
            },
            "device": "cuda:0",
            "replica": 0,
            "attempts": 1,
            "duration": 0.5,
        },
        {
            "id": "b.png",
            "input": "b.png",
            "ok": False,
            "error": {"type": "OSError", "message": "cannot identify image file 'b.png'", "traceback": "Traceback ..."},
            "device": "cuda:1",
            "replica": 0,
            "attempts": 1,
            "duration": 0.1,
        },
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    # A run killed mid-write leaves the last line torn.
    output.write_text(text + '{"id": "c.png", "input": "c.png", "ok": true, "result": {"emb', encoding="utf-8")
    return output, expected


@pytest.mark.parametrize("mmap", [True, False])
def test_arrays_bytes_and_plain_values_are_restored(run_output: tuple[Path, dict[str, Any]], mmap: bool) -> None:
    output, expected = run_output
    records = list(read_output(output, mmap=mmap))
    assert [record["id"] for record in records] == ["a.png", "b.png"]  # the torn line is skipped

    result = records[0]["result"]
    assert result["embedding"].dtype == np.float32
    assert result["embedding"].shape == (2, 3)
    assert np.array_equal(result["embedding"], expected["embedding"])
    assert np.array_equal(result["extras"][0]["mask"], expected["mask"])
    assert result["extras"][0]["mask"].dtype == np.bool_
    assert np.array_equal(result["extras"][1], expected["ids"])
    assert result["scalar"].shape == () and result["scalar"][()] == 0.25
    # bfloat16 has no numpy dtype: its raw 16-bit words come back as uint16.
    assert result["bf16"].dtype == np.uint16
    assert result["bf16"].tolist() == expected["bf16_bits"].tolist()
    assert result["png"] == expected["png"]
    assert result["label"] == "cat"

    failed = records[1]
    assert failed["ok"] is False
    assert failed["error"]["type"] == "OSError"
    assert "result" not in failed


def test_mmap_maps_the_arrays_instead_of_reading_them(run_output: tuple[Path, dict[str, Any]]) -> None:
    output, _ = run_output
    mapped = next(read_output(output))["result"]["embedding"]
    read = next(read_output(output, mmap=False))["result"]["embedding"]
    assert isinstance(mapped, np.memmap)
    assert not isinstance(read, np.memmap)


def test_the_arrays_file_is_found_beside_the_output_not_in_the_working_directory(
    run_output: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output, expected = run_output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for mmap in (True, False):
        record = next(read_output(output, mmap=mmap))
        assert np.array_equal(record["result"]["embedding"], expected["embedding"])


def test_an_output_whose_only_arrays_are_empty_can_be_read(tmp_path: Path) -> None:
    # The controller creates the .arrays file for an empty array but writes no bytes to it.
    output = tmp_path / "out.jsonl"
    arrays = ArraysFile(tmp_path / "out.arrays")
    line = {"id": "x", "input": "x", "ok": True, "result": {"boxes": arrays.add(np.zeros((0, 4), dtype=np.float32))}}
    output.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert (tmp_path / "out.arrays").stat().st_size == 0
    for mmap in (True, False):
        boxes = next(read_output(output, mmap=mmap))["result"]["boxes"]
        assert boxes.shape == (0, 4) and boxes.dtype == np.float32


def test_user_dicts_that_merely_contain_the_marker_keys_are_left_alone(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    result = {"__bytes__": "aGk=", "note": "two keys: a user's dict, not an encoded value"}
    output.write_text(json.dumps({"id": "x", "ok": True, "result": result}) + "\n", encoding="utf-8")
    assert next(read_output(output))["result"] == result


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text('\n{"id": "x", "ok": true, "result": 1}\n\n', encoding="utf-8")
    assert [record["result"] for record in read_output(output)] == [1]
