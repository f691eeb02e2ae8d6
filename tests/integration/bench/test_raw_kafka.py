"""Part 2's reference against the real broker: every message sent, acknowledged and
read back, whatever the number of senders."""

from __future__ import annotations

import os

import pytest

from bench.raw_kafka import produce_and_consume


@pytest.mark.parametrize("senders", [1, 3])
async def test_every_message_is_acknowledged_and_read_back(
    kafka_bootstrap: str, senders: int
) -> None:
    payloads = [os.urandom(1000) for _ in range(10)]
    figures = await produce_and_consume(kafka_bootstrap, payloads, senders, partitions=2)
    assert figures.messages == 10
    assert figures.message_bytes == 1000
    assert len(figures.ack_seconds) == 10
    assert 0 < figures.produced_seconds <= figures.seconds
