"""The API against its own document: schemathesis (its CLI, as a user would run it)
generates requests from ``/api/v1/openapi.json`` (valid ones and ones that break the
rules) for every operation, with a user's token, an admin's and none, and checks every
answer: no 5xx, a status the document lists, its media type (problem+json for every
error) and its body and headers valid against the document's schemas.

Accounts of their own: a token that the fuzzer logs out or whose password it changes
would end the sessions of the suite's shared accounts. The operations that end a session
(logout, password) run last, with accounts of their own, so that the other runs keep
their token. ``ECG_FUZZ_EXAMPLES`` (per operation and run) and ``ECG_FUZZ_SEED`` tune it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Account, make_admin, register_user

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
EXAMPLES = int(os.environ.get("ECG_FUZZ_EXAMPLES", "30"))
SEED = int(os.environ.get("ECG_FUZZ_SEED", "20261207"))
SESSION_ENDING = ("logout", "password")
MIN_CASES = 1_000


def schemathesis(
    gateway_url: str, token: str | None, report: Path, *, only: tuple[str, ...] = ()
) -> dict[str, Any]:
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{gateway_url}/api/v1/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--phases",
        "examples,coverage,fuzzing",
        # One worker: with two threads, hypothesis's ast.parse of a filter's source hit
        # CPython 3.11.2's "AST constructor recursion depth mismatch" (gh-106905, fixed in
        # 3.11.5; Debian 12's Python is 3.11.2) in one run of four.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    for operation in only:
        command += ["--include-operation-id", operation]
    if not only:
        for operation in SESSION_ENDING:
            command += ["--exclude-operation-id", operation]
    # In the report's folder: schemathesis keeps a cache of its own where it runs.
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=report.parent
    )
    assert run.returncode == 0, f"schemathesis found problems:\n{run.stdout[-20000:]}"
    return {"cases": count_cases(report), "output": run.stdout}


def count_cases(report: Path) -> int:
    """Requests sent, from schemathesis' ndjson events."""
    cases = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        for name, body in event.items():
            if name == "ScenarioFinished":
                cases += len(body.get("recorder", {}).get("interactions", {}))
    return cases


async def test_schemathesis_finds_no_5xx_and_every_answer_follows_the_document(
    gateway_url: str, database_url: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as http:
        admin = await make_admin(http, database_url)
        user = await register_user(http, admin)
        enders: list[Account] = [
            await register_user(http, admin),
            await make_admin(http, database_url),
        ]
    runs = {
        "no token": schemathesis(gateway_url, None, tmp_path / "anonymous.ndjson"),
        "user": schemathesis(gateway_url, user.access_token, tmp_path / "user.ndjson"),
        "admin": schemathesis(gateway_url, admin.access_token, tmp_path / "admin.ndjson"),
    }
    for index, account in enumerate(enders):
        runs[f"session-ending, {index}"] = schemathesis(
            gateway_url,
            account.access_token,
            tmp_path / f"ending-{index}.ndjson",
            only=SESSION_ENDING,
        )
    counts = {name: run["cases"] for name, run in runs.items()}
    print(f"schemathesis cases per run: {counts}, {sum(counts.values())} in all")
    assert sum(counts.values()) >= MIN_CASES, counts


@pytest.mark.parametrize("path", ["/api/v1/asyncapi.json", "/api/v1/openapi.json"])
async def test_the_documents_are_served_as_json(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json(), dict)
