"""Password hashing with Argon2id (RFC 9106), off the event loop.

``ARGON2``: 32 MiB, 2 passes, 1 lane, 16-byte salt, 32-byte hash. Above OWASP's
minimum (19 MiB, 2 passes, 1 lane) in memory, at ~45 ms per hash on one core of our
2-core VM. RFC 9106's second option (64 MiB, 3 passes, 4 lanes) costs ~150 ms with one
lane, and every login would hand that much CPU to whoever sends logins.

Hashing runs in worker threads, at most ``concurrency`` at once (memory: 32 MiB each);
more logins wait for a thread rather than exhaust memory.

A stored hash made with other parameters is still verified (its PHC string carries
them) and is re-made with ``ARGON2`` at the next successful login. An unknown email
is verified against a dummy hash with the current parameters, so both failures
cost the same. Passwords are NFKC-normalised first (NIST SP 800-63B 5.1.1.2), so the
same password typed on two keyboards gives the same hash.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import anyio.to_thread
from anyio import CapacityLimiter
from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

log = logging.getLogger(__name__)

ARGON2: Final = Parameters(
    type=Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=2,
    memory_cost=32 * 1024,  # KiB
    parallelism=1,
)


@dataclass(frozen=True)
class Verification:
    matches: bool
    # The hash re-made with the current parameters, when the stored one is outdated.
    new_hash: str | None = None


def normalize(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


class Passwords:
    def __init__(self, concurrency: int, parameters: Parameters = ARGON2) -> None:
        self._hasher = PasswordHasher.from_parameters(parameters)
        self._threads = CapacityLimiter(concurrency)

    async def prepare(self) -> None:
        """Make the dummy hash now, so the first unknown email is not slower than the rest."""
        await anyio.to_thread.run_sync(lambda: self._dummy_hash, limiter=self._threads)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hash_now, password, limiter=self._threads)

    async def verify(self, stored_hash: str | None, password: str) -> Verification:
        """Check ``password`` against ``stored_hash``; None (no such account) never matches
        but costs the same as a real check."""
        return await anyio.to_thread.run_sync(
            self.verify_now, stored_hash, password, limiter=self._threads
        )

    def hash_now(self, password: str) -> str:
        return self._hasher.hash(normalize(password))

    def verify_now(self, stored_hash: str | None, password: str) -> Verification:
        if stored_hash is None:
            self._check(self._dummy_hash, password)
            return Verification(matches=False)
        if not self._check(stored_hash, password):
            return Verification(matches=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return Verification(matches=True, new_hash=self.hash_now(password))
        return Verification(matches=True)

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, normalize(password))
        except VerificationError:
            return False
        except InvalidHashError:
            log.error("a stored password hash is not an Argon2 hash; the login fails")
            return False

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hasher.hash(secrets.token_urlsafe(16))
