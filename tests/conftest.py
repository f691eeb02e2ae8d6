"""Fixtures shared by every tier.

Integration and e2e tests need the real services that ``make test`` starts and
describes in the environment. When one is missing they *fail*: a missing broker
or database must never turn into a silently skipped test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"

# The fault suite (tests/faults) disturbs the stack it runs on and takes ~20 minutes:
# `make test-faults` runs it (ECG_FAULTS=1) on a stack of its own, `make test` does not.
collect_ignore = [] if os.environ.get("ECG_FAULTS") else ["faults"]


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: integration and e2e tests need the services that "
            "`make test` starts (run the suite with `make test`)",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _required("ECG_KAFKA_BOOTSTRAP")


@pytest.fixture(scope="session")
def database_url() -> str:
    return _required("ECG_DATABASE_URL")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the stack's database, for what a test reads or sets directly."""
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def gateway_url() -> str:
    return _required("ECG_GATEWAY_URL").rstrip("/")


@pytest.fixture(scope="session")
def jwt_secret() -> str:
    """The stack's token-signing key: e2e tests forge tokens that the gateway must refuse
    although their signature holds (expired, wrong audience, missing claims)."""
    return _required("ECG_JWT_SECRET")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "mitdb" / "100.hea").is_file():
        pytest.fail(f"the reference records are missing: expected them in {DATA}", pytrace=False)
    return DATA


Body = Callable[..., dict[str, Any]]


@pytest.fixture
def body() -> Body:
    """A valid upload body; keyword arguments replace or add top-level fields."""

    def make(**fields: Any) -> dict[str, Any]:
        document: dict[str, Any] = {
            "date": "2024-05-01T10:00:00Z",
            "sampling_rate": 500,
            "leads": [
                {"name": "I", "number_of_samples": 4, "signal": [12, -3, 0, 7], "gain": 200},
                {"name": "II", "signal": [1, 2, 3], "baseline": 1024},
            ],
        }
        document.update(fields)
        return document

    return make
