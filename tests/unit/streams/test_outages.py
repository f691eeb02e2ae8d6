"""What the worker logs about an outage: a line per change of state, and the Kafka
client's retries cut to one line per kind of message per interval (``schemas.kafka_logs``,
which the gateway installs too)."""

from __future__ import annotations

import logging

import pytest

from schemas.kafka_logs import Repeats
from streams.outages import Outage


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, name: str = "aiokafka.client") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_repeats_let_one_record_of_each_message_through_per_interval() -> None:
    clock = Clock()
    repeats = Repeats(60.0, clock)
    assert repeats.filter(record("Unable connect to node with id %s: %s", 1, "refused"))
    for second in range(1, 60):
        clock.now = second
        assert not repeats.filter(record("Unable connect to node with id %s: %s", 1, "refused"))
    # Another message, or another logger, is a kind of its own.
    assert repeats.filter(record("Unable to update metadata from %s", [1]))
    assert repeats.filter(record("Unable connect to node with id %s: %s", 1, "x", name="other"))
    clock.now = 61
    again = record("Unable connect to node with id %s: %s", 1, "refused")
    assert repeats.filter(again)
    assert again.getMessage() == (
        "Unable connect to node with id 1: refused (59 more like this in the last 61 s)"
    )


def test_an_outage_is_logged_when_it_begins_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage("writing results to PostgreSQL", logging.getLogger("test.outages"))
    with caplog.at_level(logging.WARNING, logger="test.outages"):
        for _ in range(100):
            outage.failed(ConnectionRefusedError(111, "Connection refused"))
        assert outage.ongoing
        outage.answered()
        outage.answered()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("writing results to PostgreSQL failed (ConnectionRefusedError:")
    assert "works again after" in lines[1]
    assert "(100 failed attempts)" in lines[1]
    assert not outage.ongoing
