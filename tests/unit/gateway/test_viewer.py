"""The viewer's page and files: served without a token, each with the Content-Security-
Policy that keeps the page to the gateway's own scripts, and nothing from elsewhere."""

from __future__ import annotations

import re
from uuid import uuid4

import httpx
import pytest

from gateway.viewer.endpoints import ASSETS, CONTENT_SECURITY_POLICY

MODULES = ("viewer.js", "controls.js", "session.js", "data.js", "traces.js", "paper.js", "trend.js")


async def test_the_page_needs_no_token_and_carries_the_policy(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/ecg/{uuid4()}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert 'id="status"' in response.text


def test_the_policy_allows_the_gateway_s_own_scripts_only() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


async def test_a_path_that_is_no_ecg_id_is_not_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/ecg/not-a-uuid")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_page_names_only_its_own_assets_and_runs_no_inline_script(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get(f"/ecg/{uuid4()}")).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(source.startswith("/viewer/assets/") for source in sources), sources
    assert re.findall(r"<script[^>]*>\s*[^<\s]", page) == []  # a src each, and no body
    assert re.findall(r'\s(?:style|on[a-z]+)="', page) == []  # no inline style or handler


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        *((module, "javascript") for module in MODULES),
        ("viewer.css", "text/css"),
        ("icon.svg", "image/svg+xml"),
    ],
)
async def test_each_asset_is_served_with_the_policy(
    client: httpx.AsyncClient, name: str, media_type: str
) -> None:
    response = await client.get(f"/viewer/assets/{name}")
    assert response.status_code == 200
    assert media_type in response.headers["content-type"]
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == (ASSETS / name).read_bytes()

    again = await client.get(
        f"/viewer/assets/{name}", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_every_asset_is_known_and_modules_import_only_their_siblings() -> None:
    assert {path.name for path in ASSETS.iterdir()} == {*MODULES, "viewer.css", "icon.svg"}
    for module in MODULES:
        imported = re.findall(r'\bfrom "([^"]+)";', (ASSETS / module).read_text())
        assert {name.removeprefix("./") for name in imported} <= set(MODULES), imported
