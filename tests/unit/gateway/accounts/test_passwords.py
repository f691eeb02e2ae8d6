from __future__ import annotations

import time

import pytest
from argon2 import Parameters, Type, extract_parameters

from gateway.accounts.passwords import ARGON2, Passwords

OLD = Parameters(
    type=Type.I, version=19, salt_len=16, hash_len=16, time_cost=1, memory_cost=8, parallelism=1
)


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords(concurrency=2)


def test_parameters_are_at_least_owasps_minimum() -> None:
    assert ARGON2.type is Type.ID
    assert ARGON2.memory_cost >= 19 * 1024  # KiB
    assert ARGON2.time_cost >= 2
    assert ARGON2.parallelism == 1
    assert ARGON2.salt_len >= 16


async def test_hash_and_verify(passwords: Passwords) -> None:
    stored = await passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=32768,t=2,p=1$")
    assert extract_parameters(stored) == ARGON2
    assert (await passwords.verify(stored, "correct horse battery")).matches
    assert not (await passwords.verify(stored, "correct horse batterY")).matches
    assert await passwords.hash("correct horse battery") != stored  # salted


async def test_unicode_is_normalised(passwords: Passwords) -> None:
    composed, decomposed = "caf\u00e9-\u00e9cole", "cafe\u0301-e\u0301cole"
    stored = await passwords.hash(composed)
    assert (await passwords.verify(stored, decomposed)).matches


async def test_outdated_hashes_verify_and_are_remade(passwords: Passwords) -> None:
    old = Passwords(concurrency=1, parameters=OLD).hash_now("correct horse battery")
    verification = await passwords.verify(old, "correct horse battery")
    assert verification.matches
    assert verification.new_hash is not None
    assert extract_parameters(verification.new_hash) == ARGON2
    assert (await passwords.verify(verification.new_hash, "correct horse battery")).new_hash is None
    wrong = await passwords.verify(old, "wrong horse battery")
    assert not wrong.matches
    assert wrong.new_hash is None


@pytest.mark.parametrize("stored", [None, "", "plaintext", "$argon2id$v=19$garbage"])
async def test_no_account_or_a_broken_hash_never_matches(
    passwords: Passwords, stored: str | None
) -> None:
    assert not (await passwords.verify(stored, "")).matches
    assert not (await passwords.verify(stored, "plaintext")).matches


def test_no_account_costs_as_much_as_a_wrong_password(passwords: Passwords) -> None:
    stored = passwords.hash_now("correct horse battery")
    passwords.verify_now(None, "warm-up")  # the dummy hash is made once, on first use

    def median(stored_hash: str | None) -> float:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            passwords.verify_now(stored_hash, "wrong horse battery")
            times.append(time.perf_counter() - started)
        return sorted(times)[3]

    ratio = median(None) / median(stored)
    assert 0.6 < ratio < 1.6, ratio
