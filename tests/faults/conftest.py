"""The fault suite's shared parts: the stack it disturbs, one user, the undisturbed
run every disturbed one is compared with, and the table of figures printed at the end
(and written to ``$ECG_FAULTS_REPORT`` as JSON lines when set)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Account, make_admin, register_user
from tests.faults.stack import FaultStack
from tests.faults.workload import collect, run_workload

FIGURES: list[dict[str, Any]] = []


@pytest.fixture(scope="session")
def stack() -> FaultStack:
    return FaultStack.of_this_run()


@pytest.fixture(scope="session")
async def account(gateway_url: str, database_url: str) -> Account:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as http:
        admin = await make_admin(http, database_url)
        return await register_user(http, admin)


@pytest.fixture(scope="session")
async def reference(gateway_url: str, account: Account, data_dir: Path) -> dict[str, Any]:
    """The workload's results, undisturbed."""
    run = await run_workload(
        gateway_url, account.email, account.password, data_dir, random.Random(0)
    )
    got = await collect(gateway_url, account.email, account.password, run)
    assert not run.failures, run.failures
    assert all(got.values()), "the undisturbed run did not finish"
    assert set(run.statuses) <= {200, 201, 202}, run.statuses
    return got


@pytest.fixture
def figures() -> Iterator[dict[str, Any]]:
    """The figures of one run, kept for the table at the end."""
    row: dict[str, Any] = {}
    yield row
    if row:
        FIGURES.append(row)
        path = os.environ.get("ECG_FAULTS_REPORT")
        if path:
            with open(path, "a") as out:
                out.write(json.dumps(row) + "\n")


COLUMNS = (
    "case", "run", "at_s", "ecgs", "windows", "lost", "doubled", "differing",
    "5xx", "500s", "recover_s",
)  # fmt: skip


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault runs")
    terminalreporter.write_line("  ".join(f"{c:>9}" for c in COLUMNS))
    for row in FIGURES:
        terminalreporter.write_line("  ".join(f"{row.get(c, '')!s:>9}" for c in COLUMNS))
