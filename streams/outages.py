"""What the worker does while PostgreSQL or Kafka is away: wait, retry, and say so once.

Every client of the worker that needs a dependency (the sink's writes, the windows
agent's check of new ECGs, the idle timer) retries until it answers: an outage is a
delay, never a loss. ``Outage`` keeps the log to one line when a dependency stops
answering and one when it answers again (with how long it was away and how many
attempts failed), instead of a line per attempt. ``Repeats`` does the same for the
Kafka client's own errors, which it logs at every retry (~1,900 lines in 30 s of a
broker outage, four messages over and over): one line per kind of message per minute,
with the count of those left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import asyncpg

# What PostgreSQL being away looks like to asyncpg: refused or lost connections, a
# server shutting down or restarting, no answer within the command timeout, and
# asyncpg's own errors on a connection that was closed mid-use.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


class Outage:
    """One dependency as one of the worker's clients sees it: answering, or away
    since a failure. ``failed`` and ``answered`` log only a change of state."""

    def __init__(self, what: str, log: logging.Logger) -> None:
        self._what = what
        self._log = log
        self.since: float | None = None  # time.monotonic() of the first failure
        self.failures = 0
        self.ended_at: float | None = None  # time.monotonic() of the last recovery

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException, retry: str = "retrying until it answers") -> None:
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
            self._log.warning("%s failed (%s); %s", self._what, _describe(error), retry)

    def answered(self) -> None:
        if self.since is None:
            return
        now = time.monotonic()
        self._log.warning(
            "%s works again after %.1f s (%d failed attempts)",
            self._what,
            now - self.since,
            self.failures,
        )
        self.since, self.failures, self.ended_at = None, 0, now


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


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
