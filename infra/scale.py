"""How many gateway processes and stream workers a local stack runs.

Several gateway processes are one uvicorn with ``--workers N``: its processes share
the listening socket and the kernel spreads the connections. Several stream workers
are as many ``python -m streams worker`` processes in one consumer group; a topic's
partitions are the unit of scale, so there are never more workers than partitions.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PARTITIONS = "4"  # ECG_TOPIC_PARTITIONS when the environment does not set it


@dataclass(frozen=True)
class Scale:
    gateways: int = 1
    workers: int = 1


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
    """Why ``scale`` cannot run, or None: a worker beyond the partitions would idle."""
    available = partitions(env)
    if scale.workers > available:
        return (
            f"{scale.workers} workers but {available} partitions per topic "
            f"(ECG_TOPIC_PARTITIONS): a worker beyond the partitions gets none"
        )
    return None
