"""``/docs`` in a real browser: headless Chromium (Debian's, installed on first use as
the other services are) loads the page, Swagger UI's files from the gateway itself (no
CDN: the machine's network is closed) and the OpenAPI document, and draws every
operation."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.e2e.browser import QUIET, find_chromium


@pytest.fixture(scope="session")
def chromium() -> str:
    return find_chromium()


def rendered(chromium: str, url: str) -> str:
    """The page's DOM once its scripts have run (virtual time: no fixed sleep)."""
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [
                chromium,
                *QUIET,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=20000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


async def test_docs_renders_every_operation_offline(
    chromium: str, gateway_url: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    document = (await http.get("/api/v1/openapi.json")).json()
    dom = rendered(chromium, f"{gateway_url}/docs")
    drawn = re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom)
    assert set(drawn) == set(document["paths"]), drawn
    operations = sum(len(methods) for methods in document["paths"].values())
    assert len(drawn) == operations
    assert '<h2 class="title">ecg-pipeline' in dom
    assert "Unable to render this definition" not in dom
    assert "errors-wrapper" not in dom


async def test_the_page_loads_nothing_from_elsewhere(http: httpx.AsyncClient) -> None:
    page = (await http.get("/docs")).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(source.startswith("/docs/assets/") for source in sources)
    for source in sources:
        asset = await http.get(source)
        assert asset.status_code == 200, source
