"""Large arrays as frames of their own (codec.py, results.py): sent from the array's memory, and
never while the script may write into it again."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from fakes import FakeEvents, FakeTasks, bundle, task

from gpu_orchestrate_worker import codec, protocol
from gpu_orchestrate_worker.batches import received_batches
from gpu_orchestrate_worker.replica import serve
from gpu_orchestrate_worker.results import ResultSender

BIG = codec.FRAME_BYTES // 4  # float32 values in an array that goes as a frame


def test_a_large_array_goes_as_a_view_of_its_own_memory_and_a_small_one_inside_the_message() -> None:
    big, small = np.arange(BIG, dtype=np.float32), np.arange(BIG - 1, dtype=np.float32)
    frames = codec.Frames()
    encoded = codec.encode({"big": big, "small": small, "again": big}, frames)
    assert len(frames) == 2  # each array its own frame, even the same one twice
    assert all(np.shares_memory(np.frombuffer(frame, dtype=np.uint8), big) for frame in frames)  # no copy
    assert len(encoded) < small.nbytes + 200  # the big one's bytes are not in the message
    decoded = codec.decode(encoded, [bytes(frame) for frame in frames])
    assert np.array_equal(decoded["big"], big) and np.array_equal(decoded["again"], big) and np.array_equal(decoded["small"], small)
    assert frames.borrowed  # the script's own memory


def test_arrays_the_codec_had_to_copy_are_not_borrowed() -> None:
    # Non-contiguous, byte-swapped: each is copied into C order, little-endian; the copy is ours.
    base = np.arange(4 * BIG, dtype=np.float32).reshape(4, BIG)
    frames = codec.Frames()
    encoded = codec.encode([base[:, ::2].T, base[:2].astype(">f4")], frames)
    assert len(frames) == 2 and not frames.borrowed
    first, second = codec.decode(encoded, list(frames))
    assert np.array_equal(first, base[:, ::2].T) and np.array_equal(second, base[:2])


def test_a_cpu_tensor_is_sent_from_its_storage_and_a_bfloat16_one_keeps_its_bits() -> None:
    tensor = torch.arange(BIG, dtype=torch.float32)
    halves = torch.arange(2 * BIG, dtype=torch.float32).to(torch.bfloat16)
    frames = codec.Frames()
    decoded = codec.decode(codec.encode([tensor, halves], frames), list(frames))
    assert np.shares_memory(np.frombuffer(frames[0], dtype=np.uint8), tensor.numpy())
    assert np.array_equal(decoded[0], tensor.numpy())
    assert decoded[1].dtype == "bfloat16" and decoded[1].data == halves.view(torch.int16).numpy().tobytes()


def test_a_frame_that_is_not_there_is_named() -> None:
    frames = codec.Frames()
    encoded = codec.encode(np.zeros(BIG, dtype=np.float32), frames)
    try:
        codec.decode(encoded, [])
    except ValueError as exc:
        assert "names frame 0, but the message has 0 array frame(s)" in str(exc)
    else:
        raise AssertionError("decoding without the frame should fail")


class Tracker:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def wait(self) -> None:
        self.log.append("waited")


class TrackedEvents(FakeEvents):
    """Records each message's frame count and whether it was tracked, and when the sender waits."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    def send(self, data: bytes, copy: bool = True) -> None:
        self.log.append("message")
        super().send(data, copy)

    def send_multipart(self, frames: list[Any], copy: bool = True, track: bool = False) -> Tracker | None:
        assert copy is False
        self.log.append(f"message+{len(frames) - 1} frames{' tracked' if track else ''}")
        super().send_multipart(frames, copy, track)
        return Tracker(self.log) if track else None


def test_a_result_with_large_arrays_goes_at_once_and_infer_waits_until_zeromq_has_sent_the_memory_it_returned() -> None:
    events = TrackedEvents()
    buffer = np.zeros(BIG, dtype=np.float32)
    calls: list[int] = []

    def infer(model: Any, batch: list[Any]) -> list[Any]:
        events.log.append(f"infer {batch}")
        calls.append(1)
        if batch == ["reused"]:
            buffer[:] = len(calls)  # a script that writes into the array it returned last time
            return [buffer]
        if batch == ["copied"]:
            return [np.arange(2 * BIG, dtype=np.float32)[::2]]  # not contiguous: the codec copies it
        return [1]

    sender = ResultSender(events, device=0, replica=0, hold_seconds=60)
    serve(received_batches(FakeTasks([bundle((0, ["reused"]), (1, ["reused"]), (2, ["copied"]), (3, ["small"])), task("stop")])), infer, None, sender)
    sender.close()
    assert events.log == [
        "infer ['reused']", "message+1 frames tracked",
        "waited", "infer ['reused']", "message+1 frames tracked",
        "waited", "infer ['copied']", "message+1 frames",  # a copy of its own: no wait before the next
        "infer ['small']", "message",
    ]
    values = [entry["outcomes"][0]["result"] for entry in events.results()]
    assert values[0][0] == 1 and values[1][0] == 2  # each as it was when sent
    assert np.array_equal(values[2], np.arange(2 * BIG, dtype=np.float32)[::2])


def test_held_results_and_a_large_one_go_in_one_message_with_frames_numbered_across_entries() -> None:
    events = TrackedEvents()
    arrays = {"a": np.full(BIG, 1, dtype=np.float32), "b": np.full(BIG, 2, dtype=np.float32)}

    def infer(model: Any, batch: list[Any]) -> list[Any]:
        return [arrays.get(item, item) for item in batch]

    sender = ResultSender(events, device=0, replica=0, hold_seconds=60)
    serve(received_batches(FakeTasks([bundle((0, ["x"]), (1, ["a", "b"]), (2, ["y"])), task("stop")])), infer, None, sender)
    sender.close()
    assert events.log == ["message+2 frames tracked", "waited", "message"]  # batch 0 was held, then went with batch 1
    results = [[outcome["result"] for outcome in entry["outcomes"]] for entry in events.results()]
    assert results[0] == ["x"] and results[2] == ["y"]
    assert [float(array[0]) for array in results[1]] == [1.0, 2.0]


def test_results_message_with_frames_is_what_the_protocol_says() -> None:
    frames = codec.Frames()
    entry = codec.encode(protocol.result_entry(3, [{"ok": True, "result": np.ones(BIG, dtype=np.float32), "seconds": 0.0}]), frames)
    message = codec.decode(protocol.results_message(0, 1, [entry]), list(frames))
    assert message["kind"] == "results" and np.array_equal(message["results"][0]["outcomes"][0]["result"], np.ones(BIG, dtype=np.float32))
