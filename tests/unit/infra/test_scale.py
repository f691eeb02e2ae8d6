"""Process counts: at least one of each, never more workers than partitions, one
broker or three, never more replicas than brokers."""

from __future__ import annotations

import argparse

import pytest

from infra.scale import Scale, count, refusal


def test_a_count_is_a_whole_number_of_at_least_one() -> None:
    assert count("3") == 3
    for text in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="at least 1"):
            count(text)


def test_workers_up_to_the_partitions_are_accepted() -> None:
    assert refusal(Scale(gateways=8, workers=4), {}) is None  # 4 partitions by default
    assert refusal(Scale(workers=6), {"ECG_TOPIC_PARTITIONS": "6"}) is None


def test_more_workers_than_partitions_are_refused_in_one_line() -> None:
    reason = refusal(Scale(workers=5), {})
    assert reason is not None
    assert "5 workers but 4 partitions" in reason
    assert "\n" not in reason
    assert refusal(Scale(workers=3), {"ECG_TOPIC_PARTITIONS": "2"}) is not None


def test_one_broker_or_three() -> None:
    assert refusal(Scale(brokers=1), {}) is None
    assert refusal(Scale(brokers=3), {}) is None
    for brokers in (2, 4, 5):
        reason = refusal(Scale(brokers=brokers), {})
        assert reason is not None
        assert "1 or 3" in reason


def test_a_replication_beyond_the_brokers_is_refused() -> None:
    assert refusal(Scale(brokers=3), {"ECG_TOPIC_REPLICATION": "3"}) is None
    assert refusal(Scale(brokers=3), {"ECG_TOPIC_REPLICATION": "2"}) is None
    reason = refusal(Scale(brokers=1), {"ECG_TOPIC_REPLICATION": "3"})
    assert reason is not None
    assert "ECG_TOPIC_REPLICATION=3 but 1 broker(s)" in reason
