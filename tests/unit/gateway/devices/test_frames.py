from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from gateway.devices.frames import (
    ChunkFrame,
    EndFrame,
    ack,
    ack_text,
    as_text,
    decode_frame,
    frame_limit,
    problem_document,
    read_chunk,
    refusal,
    retry,
)
from gateway.errors import (
    BodyTooLargeError,
    ChunkGapError,
    InvalidInputError,
    KafkaUnavailableError,
    MalformedBodyError,
)
from tests.binary_chunks import binary_chunk

LEADS = ("I", "II")


def text(document: dict[str, Any]) -> str:
    return json.dumps(document)


def test_a_text_chunk_is_the_http_chunk_plus_its_type() -> None:
    frame = decode_frame(text({"type": "chunk", "seq": 3, "signal": [[1, -2], [3, 4]]}))
    assert isinstance(frame, ChunkFrame)
    assert frame.seq == 3
    chunk = read_chunk(frame, LEADS, max_samples=10)
    assert chunk.seq == 3
    assert [signal.tolist() for signal in chunk.signals] == [[1, -2], [3, 4]]


def test_a_binary_chunk_reads_as_the_same_json_chunk() -> None:
    samples = [[1, -2, 300], [70000, 0, -5]]
    frame = decode_frame(binary_chunk(9, samples, width=4))
    assert isinstance(frame, ChunkFrame)
    assert frame.seq == 9
    as_bytes = read_chunk(frame, LEADS, 10)
    same = decode_frame(text({"type": "chunk", "seq": 9, "signal": samples}))
    assert isinstance(same, ChunkFrame)
    as_json = read_chunk(same, LEADS, 10)
    assert as_bytes.seq == as_json.seq == 9
    for a, b in zip(as_bytes.signals, as_json.signals, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_end_takes_nothing_else() -> None:
    assert decode_frame(text({"type": "end"})) == EndFrame()
    with pytest.raises(InvalidInputError) as error:
        decode_frame(text({"type": "end", "seq": 4}))
    assert [e.field for e in error.value.errors] == ["seq"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"seq": 0, "signal": [[1], [2]]}, "type: is required: 'chunk'"),
        ({"type": "chunks", "seq": 0}, "type: got \"chunks\": 'chunk'"),
        ({"type": 1}, "type: got 1"),
    ],
)
def test_a_frame_without_a_known_type_says_which_there_are(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError) as error:
        decode_frame(text(document))
    assert message in str(error.value)


@pytest.mark.parametrize("frame", ["{", "[1, 2]", "NaN", ""])
def test_a_text_frame_that_is_not_a_json_object_is_malformed(frame: str) -> None:
    with pytest.raises(MalformedBodyError):
        decode_frame(frame)


@pytest.mark.parametrize(
    ("document", "seq"),
    [
        ({"type": "chunk", "seq": 5, "signal": "nope"}, 5),
        ({"type": "chunk", "seq": -1, "signal": [[1], [2]]}, None),
        ({"type": "chunk", "seq": "5", "signal": [[1], [2]]}, None),
        ({"type": "chunk", "seq": True, "signal": [[1], [2]]}, None),
        ({"type": "chunk", "seq": 2**63, "signal": [[1], [2]]}, None),
        ({"type": "chunk", "signal": [[1], [2]]}, None),
    ],
)
def test_a_refused_chunk_is_answered_under_the_seq_it_claims(
    document: dict[str, Any], seq: int | None
) -> None:
    frame = decode_frame(text(document))
    assert isinstance(frame, ChunkFrame)
    assert frame.seq == seq
    with pytest.raises(InvalidInputError):
        read_chunk(frame, LEADS, 10)


def test_the_seq_of_a_binary_frame_is_read_only_from_a_header() -> None:
    assert binary_seq(binary_chunk(2**40, [[1], [2]])) == 2**40
    assert binary_seq(binary_chunk(7, [[1], [2]], magic=b"XX")) is None
    assert binary_seq(binary_chunk(7, [[1], [2]], version=2)) is None
    assert binary_seq(binary_chunk(2**63, [[1], [2]])) is None
    assert binary_seq(b"EC\x01") is None


def binary_seq(data: bytes) -> int | None:
    frame = decode_frame(data)
    assert isinstance(frame, ChunkFrame)
    return frame.seq


def test_frames_are_bounded_like_the_http_bodies_of_their_kind() -> None:
    assert frame_limit("x" * 100, 100, 50) is None
    assert frame_limit("x" * 101, 100, 50) == 100
    assert frame_limit(b"x" * 50, 100, 50) is None
    assert frame_limit(b"x" * 51, 100, 50) == 50


def test_an_error_carries_the_problem_that_http_gives() -> None:
    answer = refusal(4, ChunkGapError(4, 2))
    assert answer == {
        "type": "error",
        "seq": 4,
        "problem": {
            "type": "/problems/chunk-gap",
            "title": "Earlier chunks are missing",
            "status": 409,
            "detail": "chunk seq 4 arrived while seq 2 is the next one expected: send seq 2 first",
            "expected_seq": 2,
        },
    }
    assert problem_document(BodyTooLargeError(10))["status"] == 413


def test_a_retry_names_the_seq_to_resend_and_when() -> None:
    error = KafkaUnavailableError("the message broker does not answer")
    assert retry(7, 5, error) == {
        "type": "retry",
        "seq": 7,
        "retry_after": 5,
        "detail": "the message broker does not answer",
    }


@pytest.mark.parametrize("seq", [0, 7, 2**63 - 1])
def test_an_ack_text_is_the_json_of_the_ack(seq: int) -> None:
    assert ack_text(seq) == as_text(ack(seq))
    assert json.loads(ack_text(seq)) == ack(seq)
