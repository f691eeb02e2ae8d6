"""How many Kafka brokers, gateway processes and stream workers a local stack runs.

Several gateway processes are one uvicorn with ``--workers N``: its processes share
the listening socket and the kernel spreads the connections. Several stream workers
are as many ``python -m streams worker`` processes in one consumer group; a topic's
partitions are the unit of scale, so there are never more workers than partitions.
Kafka is one node or a cluster of three (``infra.kafka`` says why no other size).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PARTITIONS = "4"  # ECG_TOPIC_PARTITIONS when the environment does not set it
BROKER_COUNTS = (1, 3)


@dataclass(frozen=True)
class Scale:
    gateways: int = 1
    workers: int = 1
    brokers: int = 1


ONE_EACH = Scale()


def count(text: str) -> int:
    """A process count of at least 1 (an argparse ``type``)."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


def partitions(env: Mapping[str, str]) -> int:
    return int(env.get("ECG_TOPIC_PARTITIONS") or DEFAULT_PARTITIONS)


def refusal(scale: Scale, env: Mapping[str, str]) -> str | None:
    """Why ``scale`` cannot run, or None: a worker beyond the partitions would idle,
    a cluster of two brokers would stop at the loss of either, and a topic cannot
    have more replicas than there are brokers."""
    available = partitions(env)
    if scale.workers > available:
        return (
            f"{scale.workers} workers but {available} partitions per topic "
            f"(ECG_TOPIC_PARTITIONS): a worker beyond the partitions gets none"
        )
    if scale.brokers not in BROKER_COUNTS:
        return (
            f"{scale.brokers} brokers: 1 or 3 (3 keep working with one lost; 2 would "
            f"stop with either lost, and more on one machine add nothing but memory)"
        )
    replication = env.get("ECG_TOPIC_REPLICATION")
    if replication and replication.isdigit() and int(replication) > scale.brokers:
        return (
            f"ECG_TOPIC_REPLICATION={replication} but {scale.brokers} broker(s): "
            f"a topic cannot have more replicas than brokers"
        )
    return None
