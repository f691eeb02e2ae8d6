"""When the windows agent counts as behind, and how the sink waits for it to catch up."""

from __future__ import annotations

import asyncio
import time

from streams.windows import Backlog


def test_a_batch_whose_oldest_chunk_waited_too_long_is_behind() -> None:
    backlog = Backlog(limit=0.25)
    now = time.time()
    assert not backlog.behind(time.monotonic())  # nothing taken yet
    backlog.taken([now - 0.1, now - 0.2], now)
    assert not backlog.behind(time.monotonic())
    backlog.taken([now - 0.1, None, now - 0.3], now)
    assert backlog.behind(time.monotonic())
    # A behind batch counts for a second: without batches since, the worker is idle.
    assert not backlog.behind(time.monotonic() + 1.0)
    backlog.taken([None], now)  # no timestamps: not behind
    assert not backlog.behind(time.monotonic())


def test_a_batch_taken_in_time_whose_work_took_too_long_is_behind() -> None:
    backlog = Backlog(limit=0.25)
    now = time.time()
    backlog.taken([now - 0.1], now)
    assert not backlog.behind(time.monotonic())
    backlog.processed(now + 0.1)
    assert not backlog.behind(time.monotonic())
    backlog.processed(now + 0.2)  # its oldest chunk has now waited 0.3 s
    assert backlog.behind(time.monotonic())


async def test_the_sink_waits_until_a_batch_is_not_behind_or_at_most_its_limit() -> None:
    backlog = Backlog(limit=0.25)
    await asyncio.wait_for(backlog.caught_up(10.0), 1.0)  # not behind: at once
    now = time.time()
    backlog.taken([now - 1.0], now)
    await asyncio.wait_for(backlog.caught_up(0.05), 1.0)  # behind: returns at its limit
    waiting = asyncio.ensure_future(backlog.caught_up(10.0))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    backlog.taken([now], now)
    await asyncio.wait_for(waiting, 1.0)


async def test_a_burst_that_ended_holds_nothing_up_after_a_second() -> None:
    """The last batch of a burst was behind and no batch came since: the verdict goes
    stale a second after it, and a wait ends then, not at its limit."""
    backlog = Backlog(limit=0.25)
    now = time.time()
    backlog.taken([now - 1.0], now)
    started = time.monotonic()
    await asyncio.wait_for(backlog.caught_up(10.0), 2.0)
    assert 0.9 <= time.monotonic() - started < 5.0  # well before its limit
    started = time.monotonic()
    await backlog.caught_up(10.0)  # stale already: at once
    assert time.monotonic() - started < 0.1
