"""Login throttling through ``Throttle``, against the real PostgreSQL, on a clock of
the test's own (the blocks last seconds to minutes)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.accounts.throttle import ACCOUNT, ADDRESS, FRESH_FAILURES, PAIR, Throttle
from gateway.database import Database
from gateway.errors import TooManyAttemptsError


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(database: Database, clock: Clock) -> Throttle:
    return Throttle(database, clock=clock)


def account() -> str:
    return str(uuid.uuid4())


def address() -> str:
    """A fresh documentation address (2001:db8::/32), one /64 per call."""
    return f"2001:db8:{uuid.uuid4().int % 0xFFFF:x}:{uuid.uuid4().int % 0xFFFF:x}::1"


async def fail(throttle: Throttle, who: str, where: str, times: int) -> None:
    for _ in range(times):
        await throttle.admit(who, where)


async def retry_after(throttle: Throttle, who: str, where: str) -> int:
    with pytest.raises(TooManyAttemptsError) as raised:
        await throttle.admit(who, where)
    return raised.value.retry_after_seconds


async def test_a_pair_is_blocked_after_its_free_failures_with_growing_waits(
    throttle: Throttle, clock: Clock
) -> None:
    who, where = account(), address()
    await fail(throttle, who, where, PAIR.threshold)
    waits = []
    for _ in range(4):
        waits.append(await retry_after(throttle, who, where))
        clock.advance(waits[-1])
        await throttle.admit(who, where)  # allowed again once the wait is over, and failed
    assert waits == [1, 2, 4, 8]


async def test_another_address_is_not_blocked_by_a_pair(throttle: Throttle) -> None:
    who, where = account(), address()
    await fail(throttle, who, where, PAIR.threshold)
    await retry_after(throttle, who, where)
    await throttle.admit(who, address())


async def test_success_clears_the_pair(throttle: Throttle, clock: Clock) -> None:
    who, where = account(), address()
    await fail(throttle, who, where, PAIR.threshold - 1)
    await throttle.succeeded(await throttle.admit(who, where))
    await fail(throttle, who, where, PAIR.threshold)  # a full budget again
    await retry_after(throttle, who, where)


async def test_failures_are_forgotten_after_the_window(throttle: Throttle, clock: Clock) -> None:
    who, where = account(), address()
    await fail(throttle, who, where, PAIR.threshold - 1)
    clock.advance(PAIR.window + 1)
    await fail(throttle, who, where, PAIR.threshold - 1)
    await throttle.admit(who, where)


async def test_the_account_block_holds_the_addresses_guessing_at_it_for_a_minute_at_most(
    throttle: Throttle, clock: Clock
) -> None:
    who, guessers = account(), [address() for _ in range(4)]
    for where in guessers:  # 12 failures: past the account's threshold
        await fail(throttle, who, where, FRESH_FAILURES)
    waits = []
    for _ in range(10):
        for where in guessers:
            try:
                await throttle.admit(who, where)
            except TooManyAttemptsError as error:
                waits.append(error.retry_after_seconds)
    assert waits
    assert max(waits) <= ACCOUNT.max_block
    await throttle.admit(who, address())  # an address new to the account is not held


async def test_an_attacker_cannot_keep_the_user_out_and_stays_throttled(
    throttle: Throttle, clock: Clock
) -> None:
    """About one failure a second from ten addresses for 150 s, the account's block
    renewed all along; the real user, from an address never used before, types the
    password wrong twice and then right, and gets in."""
    who, attackers = account(), [address() for _ in range(10)]
    home, attempts, refused, admitted = address(), 0, 0, 0
    user_in_at = None
    for second in range(150):
        try:
            await throttle.admit(who, attackers[second % len(attackers)])
            admitted += 1
        except TooManyAttemptsError:
            pass
        clock.advance(0.5)
        if user_in_at is None and second % 5 == 2:  # every 5 s until in
            attempts += 1
            try:
                attempt = await throttle.admit(who, home)
            except TooManyAttemptsError:
                refused += 1
            else:
                if attempts > 2:  # two typos first
                    await throttle.succeeded(attempt)
                    user_in_at = second
        clock.advance(0.5)
    assert user_in_at is not None, f"the user was refused {refused} of {attempts} times"
    assert user_in_at <= 3 * 60
    # Brute force stays throttled: each attacking address guessed a few times at most.
    assert admitted <= FRESH_FAILURES * len(attackers) + 5, admitted
    target, lone, lone_admitted = account(), address(), 0
    for _ in range(150):  # one address at one account, once a second
        try:
            await throttle.admit(target, lone)
            lone_admitted += 1
        except TooManyAttemptsError:
            pass
        clock.advance(1)
    assert lone_admitted <= PAIR.threshold + 8, lone_admitted


async def test_the_account_block_spares_an_address_it_logged_in_from(
    throttle: Throttle, clock: Clock
) -> None:
    who, home, guessers = account(), address(), [address() for _ in range(4)]
    await throttle.succeeded(await throttle.admit(who, home))
    for where in guessers:
        await fail(throttle, who, where, FRESH_FAILURES)
    await retry_after(throttle, who, guessers[0])
    for _ in range(FRESH_FAILURES + 1):  # not only its first few attempts
        await throttle.succeeded(await throttle.admit(who, home))  # the real user gets in


async def test_an_address_guessing_many_accounts_is_blocked(throttle: Throttle) -> None:
    where = address()
    for _ in range(ADDRESS.threshold):
        await throttle.admit(account(), where)
    await retry_after(throttle, account(), where)


async def test_ipv6_clients_count_by_their_64(throttle: Throttle) -> None:
    who = account()
    for host in range(1, PAIR.threshold + 1):
        await throttle.admit(who, f"2001:db8:aa:bb::{host:x}")
    await retry_after(throttle, who, "2001:db8:aa:bb:ffff::1")


async def test_parallel_guesses_are_all_counted(throttle: Throttle) -> None:
    who, where = account(), address()
    results = await asyncio.gather(
        *(throttle.admit(who, where) for _ in range(3 * PAIR.threshold)), return_exceptions=True
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    assert len(admitted) == PAIR.threshold
    assert all(isinstance(r, TooManyAttemptsError) for r in results if r not in admitted)
