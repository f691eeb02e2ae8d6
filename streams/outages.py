"""What the worker does while PostgreSQL or Kafka is away: wait, retry, and say so once.

Every client of the worker that needs a dependency (the sink's writes, the windows
agent's check of new ECGs, the idle timer) retries until it answers: an outage is a
delay, never a loss. ``Outage`` keeps the log to one line when a dependency stops
answering and one when it answers again (with how long it was away and how many
attempts failed), instead of a line per attempt. (The Kafka client's own errors are
cut by ``schemas.kafka_logs``.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

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


async def until_stored(
    attempt: Callable[[], Awaitable[None]],
    outage: Outage,
    reset: Callable[[], Awaitable[None]],
    *,
    max_backoff: float,
) -> None:
    """Run ``attempt`` until PostgreSQL takes it: while the database is away (any of
    ``DATABASE_DOWN``), ``reset`` the client, wait with capped exponential backoff and
    try again; other errors are raised."""
    delay = 0.1
    while True:
        try:
            await attempt()
        except DATABASE_DOWN as exc:
            outage.failed(exc, "retrying the batch until it is written")
            await reset()
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff)
        else:
            outage.answered()
            return
