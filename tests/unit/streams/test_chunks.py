from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from schemas.codec import Schema, decode, encode, encode_samples
from streams.chunks import (
    ChunkGapError,
    InvalidChunkError,
    Outcome,
    StreamState,
    SummaryHead,
    apply_chunk,
    apply_run,
    catch_up,
    provisional_summary,
)

ECG_ID = uuid.uuid4()


def chunk(seq: int, start: int, leads: list[list[int]], *, final: bool = False) -> dict[str, Any]:
    width, samples = encode_samples([np.array(lead, dtype=np.int32) for lead in leads])
    return {
        "ecg_id": ECG_ID,
        "seq": seq,
        "start_sample": start,
        "final": final,
        "date": datetime(2024, 5, 1, tzinfo=UTC),
        "sampling_rate": 2.0,
        "leads": [{"name": name} for name in ("I", "II")[: len(leads)]],
        "sample_width": width,
        "samples": samples,
    }


def window_of_2_seconds(rate: float | None) -> int:
    assert rate == 2.0
    return 4


def apply(state: StreamState | None, record: dict[str, Any]) -> Outcome:
    outcome = apply_chunk(state, record, window_of_2_seconds)
    # The carried state always survives a trip through its bytes.
    data = outcome.state.to_bytes()
    assert StreamState.from_bytes(data).to_bytes() == data
    return outcome


def test_chunks_make_windows_and_a_summary() -> None:
    first = apply(None, chunk(0, 0, [[1, -1, 1], [0, 0, 5]]))
    assert first.windows == []
    second = apply(first.state, chunk(1, 3, [[-1, 1, -1, 1, -1], [-5]], final=True))
    assert [w["index"] for w in second.windows] == [0, 1]
    lead = second.windows[0]["leads"][0]
    assert (lead["name"], lead["number_of_samples"], lead["zero_crossings"]) == ("I", 4, 3)
    assert (lead["min"], lead["max"]) == (
        {"value": -1, "reason": None},
        {"value": 1, "reason": None},
    )
    assert lead["min_mv"] == {"value": None, "reason": "no gain"}
    assert second.windows[1]["end_sample"] == 8
    assert second.summary is not None
    assert second.summary["final"] is True
    assert second.summary["n_windows"] == 2
    assert [
        (lead["name"], lead["number_of_samples"], lead["zero_crossings"])
        for lead in second.summary["leads"]
    ] == [("I", 8, 7), ("II", 4, 1)]
    # 2 Hz is below what the beat detector handles: time-based results say so.
    assert second.summary["heart_rate_bpm"]["value"] is None
    assert "no beat detection" in second.summary["heart_rate_bpm"]["reason"]
    assert second.state.finished
    assert second.state.analyser is None


def test_a_chunk_that_closes_a_window_gives_the_summary_so_far() -> None:
    first = apply(None, chunk(0, 0, [[1, -1, 1], [0, 0, 5]]))
    assert (first.windows, first.summary) == ([], None)  # closes nothing: no summary
    second = apply(first.state, chunk(1, 3, [[-1, 1, -1, 1, -1], [-5]]))
    assert [w["index"] for w in second.windows] == [0, 1]
    assert second.summary is not None
    assert second.summary["final"] is False
    assert second.summary["n_windows"] == 2
    assert [
        (lead["name"], lead["number_of_samples"], lead["zero_crossings"])
        for lead in second.summary["leads"]
    ] == [("I", 8, 7), ("II", 4, 1)]
    assert decode(Schema.ECG_SUMMARY, encode(Schema.ECG_SUMMARY, second.summary)) == (
        second.summary
    )
    third = apply(second.state, chunk(2, 8, [[1, 1, 1], []]))
    assert (third.windows, third.summary) == ([], None)
    ended = apply(third.state, chunk(3, 11, [[-1], []], final=True))
    assert ended.summary is not None
    assert ended.summary["final"] is True
    assert ended.summary["n_windows"] == 3
    assert [lead["number_of_samples"] for lead in ended.summary["leads"]] == [12, 4]


def test_an_empty_final_chunk_ends_a_stream() -> None:
    """How a stream's ``end`` arrives: no samples, only the final flag, at the next seq."""
    whole = apply(None, chunk(0, 0, [[1, -1, 1, -1, 1], [0, 0, 5, 5, -5]], final=True))
    first = apply(None, chunk(0, 0, [[1, -1, 1, -1, 1], [0, 0, 5, 5, -5]]))
    ended = apply(first.state, chunk(1, 5, [[], []], final=True))
    assert ended.summary == whole.summary
    assert first.windows + ended.windows == whole.windows
    assert ended.state.finished


def test_a_stream_ended_before_any_sample_has_an_empty_summary() -> None:
    ended = apply(None, chunk(0, 0, [[], []], final=True))
    assert ended.windows == []
    assert ended.summary is not None
    assert ended.summary["n_windows"] == 0
    assert [lead["number_of_samples"] for lead in ended.summary["leads"]] == [0, 0]


def test_records_match_their_avro_schemas() -> None:
    first = apply(None, chunk(0, 0, [[1, -1, 1], [0, 0, 5]]))
    done = apply(first.state, chunk(1, 3, [[-1, 1, -1, 1, -1], [-5]], final=True))
    assert done.summary is not None
    for window in done.windows:
        assert decode(Schema.WINDOW_RESULT, encode(Schema.WINDOW_RESULT, window)) == window
    assert decode(Schema.ECG_SUMMARY, encode(Schema.ECG_SUMMARY, done.summary)) == done.summary


def test_a_chunk_the_analyser_refuses_is_invalid() -> None:
    first = apply(None, chunk(0, 0, [[1, 2], [3]]))
    with pytest.raises(InvalidChunkError, match="lead 1 has ended"):
        apply(first.state, chunk(1, 2, [[1], [1]]))


def test_a_state_of_an_earlier_version_is_an_invalid_chunk() -> None:
    with pytest.raises(InvalidChunkError, match="unknown stream state version 1"):
        StreamState.from_bytes(bytes([1]) + bytes(25))


def test_a_redelivered_chunk_changes_nothing() -> None:
    first = apply(None, chunk(0, 0, [[1, -1], [1, 1]]))
    again = apply(first.state, chunk(0, 0, [[1, -1], [1, 1]]))
    assert again.duplicate
    assert again.state.to_bytes() == first.state.to_bytes()
    done = apply(first.state, chunk(1, 2, [[1], [1]], final=True))
    assert apply(done.state, chunk(1, 2, [[1], [1]], final=True)).duplicate


def test_a_gap_is_refused() -> None:
    first = apply(None, chunk(0, 0, [[1], [1]]))
    with pytest.raises(InvalidChunkError, match="seq 2 arrived while seq 1 was expected"):
        apply(first.state, chunk(2, 1, [[1], [1]]))
    with pytest.raises(InvalidChunkError, match="seq 1 arrived while seq 0 was expected"):
        apply(None, chunk(1, 0, [[1], [1]]))


def test_an_inconsistent_chunk_is_refused() -> None:
    first = apply(None, chunk(0, 0, [[1], [1]]))
    with pytest.raises(InvalidChunkError, match="starts at sample 5, expected 1"):
        apply(first.state, chunk(1, 5, [[1], [1]]))
    with pytest.raises(InvalidChunkError, match="1 leads, the ECG has 2"):
        apply(first.state, chunk(1, 1, [[1]]))
    broken = chunk(1, 1, [[1], [1]]) | {"samples": [b"\x00\x01"]}
    with pytest.raises(InvalidChunkError, match="1 sample arrays for 2 leads"):
        apply(first.state, broken)


def test_catching_up_applies_the_re_read_chunks_before_the_one_that_revealed_the_gap() -> None:
    chunks = [
        chunk(0, 0, [[1, -1], [1, 1]]),
        chunk(1, 2, [[1, -1], [-1, 1]]),
        chunk(2, 4, [[1, -1], [1, 1]]),
        chunk(3, 6, [[-1], [1]], final=True),
    ]
    whole: Outcome | None = None
    for record in chunks:
        whole = apply(whole.state if whole else None, record)
    assert whole is not None

    first = apply_chunk(None, chunks[0], window_of_2_seconds, offset=10)
    with pytest.raises(ChunkGapError) as gap:
        apply_chunk(first.state, chunks[3], window_of_2_seconds, offset=40)
    assert (gap.value.expected, gap.value.arrived) == (1, 3)

    # What the re-read finds: a duplicate of an applied chunk and the missing ones.
    earlier = [(10, chunks[0]), (20, chunks[1]), (30, chunks[2])]
    outcomes = catch_up(first.state, earlier, chunks[3], window_of_2_seconds, offset=40)
    assert [o.state.last_offset for o in outcomes] == [20, 30, 40]
    assert outcomes[-1].summary == whole.summary
    # Chunk 1 closed window 0: its outcome carries the summary so far.
    assert [o.summary and (o.summary["final"], o.summary["n_windows"]) for o in outcomes] == [
        (False, 1),
        None,
        (True, 2),
    ]
    assert [w["index"] for o in outcomes for w in o.windows] == [0, 1]


def test_catching_up_without_the_missing_chunks_still_fails() -> None:
    first = apply_chunk(None, chunk(0, 0, [[1], [1]]), window_of_2_seconds, offset=0)
    with pytest.raises(ChunkGapError):
        catch_up(first.state, [], chunk(2, 2, [[1], [1]]), window_of_2_seconds, offset=5)


def test_an_end_published_after_a_late_chunk_of_the_same_seq_still_ends_the_ecg() -> None:
    """Chunk 1 was answered 503 but delivered after the stream's end, published at seq 1
    too: the end finishes the ECG with what was applied, late samples included."""
    first = apply(None, chunk(0, 0, [[1, -1, 1], [0, 0, 5]]))
    late = apply(first.state, chunk(1, 3, [[-1, 1], [5, 5]]))
    end = apply(late.state, chunk(1, 3, [[], []], final=True))
    assert not end.duplicate
    assert end.state.finished
    assert end.summary is not None
    assert end.summary["final"] is True
    assert [lead["number_of_samples"] for lead in end.summary["leads"]] == [5, 5]
    assert [w["index"] for w in late.windows + end.windows] == [0, 1]
    assert apply(end.state, chunk(1, 3, [[], []], final=True)).duplicate


def test_a_final_chunk_with_samples_below_the_next_seq_is_a_duplicate() -> None:
    first = apply(None, chunk(0, 0, [[1, -1, 1], [0, 0, 5]]))
    second = apply(first.state, chunk(1, 3, [[-1, 1], [5, 5]]))
    assert apply(second.state, chunk(1, 3, [[-1, 1], [5, 5]], final=True)).duplicate


def test_an_end_published_several_chunks_behind_still_ends_the_ecg() -> None:
    """A WebSocket's gateway died with chunks 1 and 2 acknowledged but not counted in
    PostgreSQL; the idle timeout ended the stream at seq 1: the ECG ends with all three."""
    first = apply(None, chunk(0, 0, [[1, -1, 1], [0, 0, 5]]))
    second = apply(first.state, chunk(1, 3, [[-1, 1], [5, 5]]))
    third = apply(second.state, chunk(2, 5, [[1], [5]]))
    end = apply(third.state, chunk(1, 3, [[], []], final=True))
    assert not end.duplicate
    assert end.state.finished
    assert end.summary is not None
    assert [lead["number_of_samples"] for lead in end.summary["leads"]] == [6, 6]
    assert apply(end.state, chunk(3, 6, [[], []], final=True)).duplicate


def test_a_provisional_summary_left_to_the_caller_is_the_one_it_would_have_given() -> None:
    first = apply(None, chunk(0, 0, [[1, -1, 1], [0, 0, 5]]))
    record = chunk(1, 3, [[-1, 1, -1, 1, -1], [-5]])
    given = apply_chunk(first.state, record, window_of_2_seconds)
    left = apply_chunk(first.state, record, window_of_2_seconds, provisional=False)
    assert (left.windows, left.summary) == (given.windows, None)
    assert left.state.to_bytes() == given.state.to_bytes()
    assert left.state.analyser is not None
    # Made later, from the head of the chunk, as long as no later window has closed.
    later = apply_chunk(left.state, chunk(2, 8, [[1, 1, 1], []]), window_of_2_seconds)
    assert later.windows == []
    assert later.state.analyser is not None
    head = SummaryHead.of(record)
    assert provisional_summary(head, later.state.analyser) == given.summary
    # The final summary is never left out.
    ended = apply_chunk(
        later.state, chunk(3, 11, [[-1], []], final=True), window_of_2_seconds, provisional=False
    )
    assert ended.summary is not None
    assert ended.summary["final"] is True


def test_a_run_of_chunks_applied_at_once_gives_the_windows_of_one_at_a_time() -> None:
    leads = [[(-1) ** i * (i % 7) for i in range(40)], [i % 5 - 2 for i in range(40)]]
    chunks = [
        chunk(k, 3 * k, [lead[3 * k : 3 * k + 3] for lead in leads], final=3 * k + 3 >= 40)
        for k in range(14)
    ]
    first = apply(None, chunks[0])
    one_by_one = [first]
    for record in chunks[1:]:
        one_by_one.append(apply(one_by_one[-1].state, record))
    together = apply_run(first.state, [(10 + k, record) for k, record in enumerate(chunks)][1:])
    assert together is not None
    assert together.windows == [w for outcome in one_by_one[1:] for w in outcome.windows]
    assert together.summary == one_by_one[-1].summary
    assert together.state == StreamState(next_seq=14, finished=True, analyser=None, last_offset=23)
    # Without the final chunk: the same memory, and the summary so far.
    middle = apply_run(first.state, [(k, record) for k, record in enumerate(chunks[1:9])])
    assert middle is not None
    assert (middle.state.next_seq, middle.state.last_offset) == (9, 7)
    held, expected = middle.state.analyser, one_by_one[8].state.analyser
    assert held is not None
    assert expected is not None
    assert held.to_bytes() == expected.to_bytes()
    assert middle.summary is not None
    assert middle.summary["final"] is False
    assert middle.summary["n_windows"] == expected.next_window


def test_a_run_that_is_not_plainly_the_next_chunks_is_left_to_one_at_a_time() -> None:
    first = apply(None, chunk(0, 0, [[1, 2], [3, 4]]))
    state = first.state

    def run(*records: dict[str, Any]) -> Outcome | None:
        return apply_run(state, list(enumerate(records)))

    assert run(chunk(1, 2, [[1], [1]]), chunk(2, 3, [[1], [1]])) is not None
    assert run(chunk(1, 2, [[1], [1]])) is None  # one chunk: nothing to gain
    assert run(chunk(0, 0, [[1, 2], [3, 4]]), chunk(1, 2, [[1], [1]])) is None  # duplicate
    assert run(chunk(2, 3, [[1], [1]]), chunk(3, 4, [[1], [1]])) is None  # gap
    assert run(chunk(1, 2, [[1, 1], [1]]), chunk(2, 4, [[1], [1]])) is None  # a lead ends
    assert run(chunk(1, 3, [[1], [1]]), chunk(2, 4, [[1], [1]])) is None  # wrong start
    assert run(chunk(1, 2, [[1], [1]], final=True), chunk(2, 3, [[1], [1]])) is None
    assert apply_run(None, [(0, chunk(0, 0, [[1], [1]])), (1, chunk(1, 1, [[1], [1]]))]) is None


@pytest.mark.parametrize("rate", [math.nan, math.inf, -math.inf, 1e308, 0.0, -2.0, 100_001.0])
def test_a_first_chunk_with_a_sampling_rate_out_of_range_is_refused_with_the_reason(
    rate: float,
) -> None:
    record = chunk(0, 0, [[1, 2], [3, 4]])
    record["sampling_rate"] = rate
    with pytest.raises(InvalidChunkError, match="sampling_rate must be a number of Hz above 0"):
        apply_chunk(None, record, window_of_2_seconds)


@pytest.mark.parametrize("gain", [math.nan, math.inf, 0.0, -1.0])
def test_a_first_chunk_with_a_gain_that_is_not_a_positive_number_is_refused(gain: float) -> None:
    record = chunk(0, 0, [[1, 2], [3, 4]])
    record["leads"][1]["gain"] = gain
    with pytest.raises(InvalidChunkError, match="the gain of lead 1 must be a positive number"):
        apply_chunk(None, record, window_of_2_seconds)
