"""What a simulated device does with each answer to a chunk."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.devices.bodies import parse_binary_chunk
from gateway.stream_client import Acked, Gap, Refused, RetryLater, binary_chunk, classify
from tests.binary_chunks import binary_chunk as documented_binary_chunk


def test_202_is_an_ack() -> None:
    assert classify(202, {}, {"seq": 3}) == Acked()


def test_503_is_retried_after_the_servers_delay() -> None:
    problem = {"type": "/problems/kafka-unavailable", "detail": "Kafka is unavailable"}
    assert classify(503, {"retry-after": "5"}, problem) == RetryLater(
        "503 Kafka is unavailable", 5.0
    )


@pytest.mark.parametrize(("status", "headers"), [(502, {}), (504, {}), (503, {"retry-after": "x"})])
def test_a_proxy_error_or_an_unreadable_retry_after_retries_with_a_backoff(
    status: int, headers: dict[str, str]
) -> None:
    outcome = classify(status, headers, None)
    assert isinstance(outcome, RetryLater)
    assert outcome.seconds is None


def test_a_gap_names_the_seq_the_gateway_expects() -> None:
    problem = {"type": "/problems/chunk-gap", "expected_seq": 4, "detail": "send seq 4 first"}
    assert classify(409, {}, problem) == Gap(4)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            409,
            {"type": "/problems/stream-ended", "detail": "ECG x has ended"},
            "409 ECG x has ended",
        ),
        (422, {"detail": "signal: at most 32768"}, "422 signal: at most 32768"),
        (401, {"title": "Unauthorized"}, "401 Unauthorized"),
        (500, "not json", "500"),
    ],
)
def test_anything_else_is_refused_with_the_problems_detail(
    status: int, body: Any, reason: str
) -> None:
    assert classify(status, {}, body) == Refused(reason)


@pytest.mark.parametrize(
    ("signal", "width"),
    [([[1, -32768], [32767, 0]], 2), ([[1, 70_000], [-70_000, 0]], 4)],
)
def test_a_binary_chunk_is_int16_while_the_samples_fit_else_int32(
    signal: list[list[int]], width: int
) -> None:
    data = binary_chunk(7, signal)
    assert data == documented_binary_chunk(7, signal, width)
    chunk = parse_binary_chunk(data, ["I", "II"], 10)
    assert chunk.seq == 7
    assert [lead.tolist() for lead in chunk.signals] == signal
