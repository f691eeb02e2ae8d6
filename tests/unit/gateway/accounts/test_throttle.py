from __future__ import annotations

import pytest

from gateway.accounts.throttle import ACCOUNT, ADDRESS, PAIR, Policy, address_key


def test_blocks_double_past_the_threshold_up_to_the_cap() -> None:
    policy = Policy(threshold=3, first_block=1, max_block=10, window=60)
    assert [policy.block_seconds(n) for n in range(1, 9)] == [0, 0, 1, 2, 4, 8, 10, 10]
    assert policy.block_seconds(10**9) == 10


def test_the_account_wide_block_is_short() -> None:
    """Guesses from everywhere can slow the real user down for a minute at most."""
    assert ACCOUNT.max_block <= 60
    assert max(ACCOUNT.block_seconds(n) for n in range(1000)) <= 60


def test_a_pair_is_blocked_sooner_than_an_address() -> None:
    assert PAIR.threshold < ACCOUNT.threshold < ADDRESS.threshold


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (None, "unknown"),
    ],
)
def test_address_keys(address: str | None, key: str) -> None:
    assert address_key(address) == key
