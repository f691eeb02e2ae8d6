"""The checkpoint policy of the windows agent, and which events it lets be acknowledged."""

from __future__ import annotations

from streams.checkpoints import Checkpoints
from streams.chunks import StreamState

A, B, C = b"a", b"b", b"c"


def state(next_seq: int, *, finished: bool = False) -> StreamState:
    return StreamState(next_seq=next_seq, finished=finished, analyser=None, last_offset=next_seq)


def apply(
    checkpoints: Checkpoints[str],
    key: bytes,
    next_seq: int,
    event: str,
    *,
    now: float = 0.0,
    closed: bool = False,
    partition: int = 0,
) -> None:
    if checkpoints.get(key) is None:
        checkpoints.load(key, None, partition)
    version = checkpoints.applied(key, state(next_seq), closed=closed, now=now)
    checkpoints.track(partition, event, key, version)


def checkpoint(
    checkpoints: Checkpoints[str], now: float, *, every: bool = False, most: int | None = None
) -> list[bytes]:
    due = checkpoints.due(now, every=every, most=most)
    for key in due:
        checkpoints.checkpointed(key)
    return due


def test_an_ecg_is_due_when_a_chunk_closed_a_window() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0")
    apply(checkpoints, B, 1, "b0")
    assert checkpoints.due(1.0) == []
    apply(checkpoints, A, 2, "a1", closed=True, now=1.0)
    assert checkpoint(checkpoints, 1.0) == [A]
    # Its next chunk makes it dirty again, not due.
    apply(checkpoints, A, 3, "a2", now=2.0)
    assert checkpoints.due(2.0) == []


def test_an_ecg_is_due_once_its_oldest_chunk_not_checkpointed_is_old_enough() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0", now=0.0)
    apply(checkpoints, B, 1, "b0", now=4.0)
    apply(checkpoints, A, 2, "a1", now=8.0)  # A's oldest is still the one at 0 s
    assert checkpoints.due(9.9) == []
    assert checkpoint(checkpoints, 10.0) == [A]
    assert checkpoints.due(13.9) == []
    assert checkpoint(checkpoints, 14.0) == [B]
    assert checkpoint(checkpoints, 100.0) == []


def test_a_worker_behind_defers_the_checkpoints_of_windows_until_they_are_old_enough() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0", now=0.0)
    apply(checkpoints, B, 1, "b0", closed=True, now=3.0)
    apply(checkpoints, A, 2, "a1", closed=True, now=3.0)
    assert checkpoints.due(3.0, defer=True) == []
    assert checkpoints.due(10.0, defer=True) == []  # behind: A's 10 s are not old enough
    assert checkpoints.due(15.0, defer=True) == [A]  # ... 1.5 times them are
    assert checkpoints.due(10.0) == [A, B]  # caught up: every window's checkpoint
    assert checkpoints.due(18.0, defer=True) == [A, B]
    assert checkpoints.due(3.0, defer=True, every=True) == [A, B]  # a revocation waits not


def test_checkpoints_come_a_few_at_a_time_those_old_enough_first() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0", closed=True, now=0.0)
    apply(checkpoints, B, 1, "b0", closed=True, now=5.0)
    apply(checkpoints, C, 1, "c0", closed=True, now=5.0)
    assert checkpoints.due(5.0, most=1) == [A]
    assert checkpoints.due(5.0, most=2) == [A, B]
    assert checkpoints.due(15.0, most=2) == [A, B]  # old enough too: the oldest first
    assert checkpoints.due(15.0, most=5) == [A, B, C]
    assert checkpoints.due(15.0, most=2, defer=True) == [A]  # behind: 1.5 x the age only
    assert checkpoint(checkpoints, 5.0, most=2) == [A, B]
    assert checkpoints.due(5.0, most=2) == [C]


def test_every_ecg_with_chunks_not_checkpointed_is_due_at_a_revocation() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0")
    apply(checkpoints, B, 1, "b0")
    checkpoints.load(C, state(5), 0)  # read from the table, nothing new
    assert sorted(checkpoint(checkpoints, 0.0, every=True)) == [A, B]
    assert checkpoints.settled() == ["a0", "b0"]


def test_events_are_acknowledged_in_offset_order_once_a_checkpoint_covers_them() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0")
    apply(checkpoints, B, 1, "b0")
    checkpoints.track(0, "duplicate", None)
    apply(checkpoints, A, 2, "a1", closed=True)
    assert checkpoints.settled() == []
    # A's checkpoint covers a0 and a1, but b0 comes before them in the partition.
    assert checkpoint(checkpoints, 0.0) == [A]
    assert checkpoints.settled() == ["a0"]
    assert checkpoints.waiting() == 3
    apply(checkpoints, B, 2, "b1", closed=True)
    assert checkpoint(checkpoints, 0.0) == [B]
    assert checkpoints.settled() == ["b0", "duplicate", "a1", "b1"]
    assert checkpoints.waiting() == 0


def test_a_chunk_applied_after_the_checkpoint_waits_for_the_next_one() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0", closed=True)
    checkpoint(checkpoints, 0.0)
    apply(checkpoints, A, 2, "a1")
    assert checkpoints.settled() == ["a0"]
    assert checkpoints.settled() == []


def test_partitions_are_acknowledged_independently() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0", partition=0)
    apply(checkpoints, B, 1, "b0", partition=1, closed=True)
    checkpoint(checkpoints, 0.0)
    assert checkpoints.settled() == ["b0"]


def test_a_finished_ecg_leaves_memory_at_its_checkpoint() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0")
    checkpoints.applied(A, state(2, finished=True), closed=True, now=0.0)
    checkpoints.track(0, "a1", A, 2)
    checkpoint(checkpoints, 0.0)
    assert checkpoints.get(A) is None
    assert checkpoints.settled() == ["a0", "a1"]
    # Read again from the table (its late duplicates), its older events stay settled.
    checkpoints.load(A, state(2, finished=True), 0)
    checkpoints.track(0, "late duplicate", None)
    assert checkpoints.settled() == ["late duplicate"]


def test_forgetting_a_partition_drops_its_live_states_and_waiting_events() -> None:
    checkpoints: Checkpoints[str] = Checkpoints(max_age=10.0)
    apply(checkpoints, A, 1, "a0", partition=0)
    apply(checkpoints, B, 1, "b0", partition=1)
    checkpoints.forget([1])
    assert checkpoints.get(B) is None
    assert checkpoints.due(0.0, every=True) == [A]
    assert checkpoints.waiting() == 1
    checkpoints.forget()
    assert len(checkpoints) == 0
    assert checkpoints.waiting() == 0
