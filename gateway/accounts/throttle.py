"""Throttling of password guesses, kept in PostgreSQL so that every gateway sees it.

Three counters per attempt: the (account, address) pair, the address, the account.
Each allows ``threshold`` failures within ``window``; every failure past it blocks
that counter for ``first_block * 2**(failures - threshold)`` seconds, up to
``max_block``, and attempts meanwhile get 429 with ``Retry-After``. An attempt is
counted when it is admitted, before the password is checked, so a burst of parallel
guesses cannot all slip in before the first failure is recorded; a success refunds
its count and clears its pair.

The numbers: a pair gets 5 free failures an hour, then waits 1, 2, 4 ... s, at most
15 min; an address 50 (one office behind one NAT mistypes now and then); an account
10 in 15 min, then waits 1, 2, 4 ... s, at most ``ACCOUNT.max_block`` (60 s).

The account-wide block is the one an attacker could turn against the user: failing
once a second keeps renewing it, and it used to refuse the user from any address they
had not used before, indefinitely. It now holds only the addresses that are guessing
at the account themselves: it does not apply from an address where the account
logged in successfully within ``KNOWN_FOR`` (30 days), nor from an address with fewer
than ``FRESH_FAILURES`` (3) failures on the account within ``PAIR.window`` (an hour).
So the real user, from anywhere, gets in at their first attempt with the right
password (and has two typos to spare) however long the attack lasts, while the
attacker's own addresses stay blocked. The price: an attacker who spreads guesses
over N addresses gets about 3N guesses an hour at one account (each address also
stops at 50 an hour over all accounts) instead of about 70 whatever N; a user who
fails three times from one new address during an attack waits for it to pause, or
logs in from a known address. Addresses: an IPv6 client counts as its /64 (one
customer's network), an IPv4-mapped one as its IPv4 address. The address is the
ASGI client, taken from ``X-Forwarded-For`` only when the connection comes from
``ECG_TRUSTED_PROXIES`` (default none; ``gateway.edge``).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from gateway.database import Database
from gateway.errors import TooManyAttemptsError

Scope = Literal["account", "address", "pair"]


@dataclass(frozen=True)
class Policy:
    threshold: int
    first_block: float
    max_block: float
    window: float

    def block_seconds(self, failures: int) -> float:
        if failures < self.threshold:
            return 0.0
        doublings = min(failures - self.threshold, 32)
        return min(self.max_block, self.first_block * 2.0**doublings)


PAIR: Final = Policy(threshold=5, first_block=1, max_block=15 * 60, window=3600)
ADDRESS: Final = Policy(threshold=50, first_block=1, max_block=15 * 60, window=3600)
ACCOUNT: Final = Policy(threshold=10, first_block=1, max_block=60, window=15 * 60)
KNOWN_FOR: Final = timedelta(days=30)
FRESH_FAILURES: Final = 3


@dataclass(frozen=True)
class Attempt:
    keys: dict[Scope, str]
    at: datetime


def address_key(address: str | None) -> str:
    if address is None:
        return "unknown"
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Throttle:
    def __init__(
        self,
        database: Database,
        policies: dict[Scope, Policy] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._policies = policies or {"account": ACCOUNT, "address": ADDRESS, "pair": PAIR}
        self._clock = clock

    async def admit(self, account: str, address: str | None) -> Attempt:
        """Count an attempt on ``account`` from ``address``; TooManyAttemptsError if blocked.
        ``account`` is the user id, or the lower-cased claimed email when there is none."""
        at = self._clock()
        where = address_key(address)
        keys: dict[Scope, str] = {
            "account": account,
            "address": where,
            "pair": f"{account} {where}",
        }
        scopes = sorted(keys)
        async with self._database.transaction() as connection:
            rows = await connection.fetch(
                """
                INSERT INTO login_throttle AS t (scope, key)
                SELECT * FROM unnest($1::text[], $2::text[])
                ON CONFLICT (scope, key) DO UPDATE SET key = EXCLUDED.key
                RETURNING scope, failures, last_failure_at, blocked_until, known_until
                """,
                scopes,
                [keys[scope] for scope in scopes],
            )
            state = {row["scope"]: row for row in rows}
            pair = state["pair"]
            known = (pair["known_until"] or at) > at
            fresh = (
                pair["last_failure_at"] is None
                or pair["failures"] < FRESH_FAILURES
                or ((at - pair["last_failure_at"]).total_seconds() >= self._policies["pair"].window)
            )
            waits = [
                (row["blocked_until"] - at).total_seconds()
                for scope, row in state.items()
                if row["blocked_until"] is not None
                and not (scope == "account" and (known or fresh))
            ]
            if any(wait > 0 for wait in waits):
                raise TooManyAttemptsError(max(1, math.ceil(max(waits))))
            counts, blocks = [], []
            for scope in scopes:
                policy, row = self._policies[scope], state[scope]
                recent = row["last_failure_at"] is not None and (
                    (at - row["last_failure_at"]).total_seconds() < policy.window
                )
                failures = row["failures"] + 1 if recent else 1
                block = policy.block_seconds(failures)
                counts.append(failures)
                blocks.append(at + timedelta(seconds=block) if block else None)
            await connection.execute(
                """
                UPDATE login_throttle t
                SET failures = u.failures, last_failure_at = $5, blocked_until = u.blocked_until
                FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[])
                    AS u(scope, key, failures, blocked_until)
                WHERE t.scope = u.scope AND t.key = u.key
                """,
                scopes,
                [keys[scope] for scope in scopes],
                counts,
                blocks,
                at,
            )
        return Attempt(keys, at)

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: clear the pair, remember it, refund the other counts."""
        others: list[Scope] = ["account", "address"]
        async with self._database.transaction() as connection:
            await connection.execute(
                """
                UPDATE login_throttle
                SET failures = 0, last_failure_at = NULL, blocked_until = NULL, known_until = $2
                WHERE scope = 'pair' AND key = $1
                """,
                attempt.keys["pair"],
                attempt.at + KNOWN_FOR,
            )
            await connection.execute(
                """
                UPDATE login_throttle t
                SET failures = greatest(t.failures - 1, 0),
                    blocked_until = CASE WHEN t.failures - 1 >= u.threshold
                                         THEN t.blocked_until END
                FROM unnest($1::text[], $2::text[], $3::int[]) AS u(scope, key, threshold)
                WHERE t.scope = u.scope AND t.key = u.key
                """,
                others,
                [attempt.keys[scope] for scope in others],
                [self._policies[scope].threshold for scope in others],
            )
