"""Throttling of password guesses, kept in PostgreSQL so that every gateway sees it.

Three counters per attempt: the (account, address) pair, the address, the account.
Each allows ``threshold`` failures within ``window``; every failure past it blocks
that counter for ``first_block * 2**(failures - threshold)`` seconds, up to
``max_block``, and attempts meanwhile get 429 with ``Retry-After``. An attempt is
counted when it is admitted, before the password is checked, so a burst of parallel
guesses cannot all slip in before the first failure is recorded; a success refunds
its count and clears its pair.

The account-wide block, against guesses spread over many addresses, never lasts
more than ``ACCOUNT.max_block`` (60 s), and it does not apply from an address where
the account logged in successfully within ``KNOWN_FOR``: an attacker can slow a
user down, not lock them out. Addresses: an IPv6 client counts as its /64 (one
customer's network), an IPv4-mapped one as its IPv4 address. The address is the
ASGI client, which uvicorn takes from ``X-Forwarded-For`` only when the connection
comes from ``--forwarded-allow-ips`` (default 127.0.0.1): behind a reverse proxy,
list the proxy there, and never ``*`` when clients can reach uvicorn directly.
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
            known = (state["pair"]["known_until"] or at) > at
            waits = [
                (row["blocked_until"] - at).total_seconds()
                for scope, row in state.items()
                if row["blocked_until"] is not None and not (scope == "account" and known)
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
