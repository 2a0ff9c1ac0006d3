"""Take-backs when a task message carries several batches: each batch of a bundle is started or
given back on its own, and results held for a batch given back do not wait."""

from __future__ import annotations

from replica_harness import SOURCES, Replica, SourceMaker, wait_until


@SOURCES
def test_a_batch_taken_back_out_of_a_bundle_is_skipped_and_the_rest_of_its_bundle_runs(make_source: SourceMaker) -> None:
    # The controller sent three batches in one message, then asked the last two back for an idle
    # replica: they arrived together, but each is started or given back on its own.
    replica = Replica(make_source)
    replica.push_bundle((0, "first"), (1, "b"), (2, "c"))
    assert replica.running.wait(10)
    replica.ask_back(2)
    replica.ask_back(1)
    wait_until(lambda: sorted(replica.confirmed) == [1, 2], "both confirmations")
    replica.push_bundle((3, "d"))
    replica.finish()
    assert replica.results() == [0, 3]
    assert replica.infer_saw == [["first"], ["d"]]


@SOURCES
def test_results_held_for_a_batch_that_was_then_taken_back_go_before_the_replica_waits(make_source: SourceMaker) -> None:
    # "first" ends with "b" here, so its result is held for b's; b is taken back, and nothing else
    # is here: the held result must go now, not when a watchdog notices (an hour, here).
    replica = Replica(make_source, hold_seconds=3600)
    replica.push_bundle((0, "first"), (1, "b"))
    assert replica.running.wait(10)
    replica.ask_back(1)
    wait_until(lambda: replica.confirmed == [1], "the confirmation")
    replica.proceed.set()
    wait_until(lambda: replica.results() == [0], "batch 0's result, while the replica waits for more")
    replica.finish()
    assert replica.infer_saw == [["first"]]


@SOURCES
def test_a_take_back_that_arrives_before_its_bundle_skips_that_batch_alone(make_source: SourceMaker) -> None:
    replica = Replica(make_source)
    replica.push(0, "first")
    assert replica.running.wait(10)
    replica.ask_back(2)
    wait_until(lambda: replica.confirmed == [2], "the confirmation")
    replica.push_bundle((1, "b"), (2, "c"), (3, "d"))
    replica.finish()
    assert replica.results() == [0, 1, 3]
    assert replica.infer_saw == [["first"], ["b"], ["d"]]
    assert "c" not in replica.preprocessed  # known to be taken back when its bundle came
