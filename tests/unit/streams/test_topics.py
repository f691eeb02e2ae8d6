"""Reading the broker's answer to CreateTopics (the topics themselves are created against
the real broker in tests/integration/streams/test_topics.py)."""

from __future__ import annotations

import pytest
from aiokafka.errors import InvalidReplicationFactorError

from streams.topics import created_topics


def test_created_and_already_existing_topics() -> None:
    answer = [("a", 0, None), ("b", 36, "Topic 'b' already exists."), ("c", 0, None)]
    assert created_topics(answer) == ["a", "c"]


def test_another_refusal_is_raised_with_the_topic_named() -> None:
    answer = [("a", 0, None), ("b", 38, "Replication factor: 3 larger than brokers: 1.")]
    with pytest.raises(InvalidReplicationFactorError, match="creating topic b: Replication"):
        created_topics(answer)


def test_the_oldest_answer_has_no_message() -> None:
    assert created_topics([("a", 0)]) == ["a"]
    with pytest.raises(InvalidReplicationFactorError, match="creating topic b"):
        created_topics([("b", 38)])
