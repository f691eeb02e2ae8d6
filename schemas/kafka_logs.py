"""The Kafka client's errors, cut to one line per kind per minute, in the gateway and
the stream worker alike (both install it at their start).

aiokafka logs an error at every retry while a broker is away: with the broker killed,
a worker logged ~1,870 lines in 30 s and a gateway taking 10 devices' chunks ~1,270,
three or four messages over and over ("Unable connect to node", "Unable to update
metadata", "Failed fetch messages", "Got error produce response"). ``Repeats`` lets one
record of each message (its logger and format string, whatever its arguments) through
per minute, and the next one that passes says how many were left out. It lives here,
beside the topics and the codecs, as the one thing about the Kafka client that both
services share: they never import each other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# aiokafka's loggers that log an error at every retry while a broker is away.
KAFKA_CLIENT_LOGGERS = (
    "aiokafka",  # aiokafka/client.py's
    "aiokafka.conn",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.sender",
)


class Repeats(logging.Filter):
    """Lets one record of each message (its logger and format string, whatever its
    arguments) through per ``seconds``; the next one that passes says how many were
    left out meanwhile."""

    def __init__(self, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._seconds = seconds
        self._clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # -> (passed at, left out)

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self._clock()
        passed = self._seen.get(key)
        if passed is not None and now - passed[0] < self._seconds:
            self._seen[key] = (passed[0], passed[1] + 1)
            return False
        if len(self._seen) >= 1000:
            self._seen.clear()  # bounded: a message's count starts again
        self._seen[key] = (now, 0)
        if passed is not None and passed[1]:
            record.msg = (
                f"{record.msg} ({passed[1]} more like this in the last {now - passed[0]:.0f} s)"
            )
        return True


def quiet_kafka_client_retries(seconds: float = 60.0) -> None:
    """Install ``Repeats`` on the Kafka client's loggers (a logger's filter sees only
    its own records, so each gets it)."""
    repeats = Repeats(seconds)
    for name in KAFKA_CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, Repeats) for f in logger.filters):
            logger.addFilter(repeats)
