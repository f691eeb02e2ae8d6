"""The viewer, ``/ecg/{id}``, in headless Chromium on the first minutes of MIT-BIH record
100: logged in through its own form, it draws ECG paper, both leads and the beats
exactly where ``/beats`` says; zoomed out to the whole recording it draws from
``/overview``; it refreshes a refused access token and its logout ends the session; it
asks nothing of any other origin.

What is on the screen is checked twice: by what the page reports on its status element
(``data-*``: the samples in view, the beats it marked and their x, each lead's strip),
and by the screenshot's pixels in those places (the grid's colour, the trace's, the
beat marks' colour at each beat's x and nowhere else).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import numpy as np
import pytest
from numpy.typing import NDArray

from tests.e2e.browser import Tab, decode_png, find_chromium, open_tab
from tests.e2e.conftest import Account, register_user
from tests.e2e.streaming import DATE
from tests.e2e.test_upload_and_lookup import wait_until_done
from tests.records import read_record

MINUTES = 5
WIDTH, HEIGHT = 1280, 800
PX_PER_MM = 96 / 25.4
# The page's colours (gateway/viewer/assets/paper.js), as RGB.
MAJOR_GRID = (0xE0, 0x8C, 0x8C)
BEAT = (0x1F, 0x4F, 0xD1)
STATUS = "document.querySelector('#status').dataset"


@dataclass(frozen=True)
class Uploaded:
    id: str
    length: int
    rate: float
    beats: list[int]


@pytest.fixture(scope="module")
async def owner(gateway_url: str, admin: Account) -> Account:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as http:
        return await register_user(http, admin)


@pytest.fixture(scope="module")
async def record_100(gateway_url: str, owner: Account, data_dir: Path) -> Uploaded:
    """The first minutes of record 100 with their gains and baselines, analysed and
    archived (the archive may follow the analysis by a moment)."""
    record = read_record(data_dir / "mitdb" / "100")
    length = int(record.sampling_rate * 60 * MINUTES)
    body = {
        "date": DATE,
        "sampling_rate": record.sampling_rate,
        "leads": [
            {"name": name, "signal": signal[:length].tolist(), "gain": gain, "baseline": baseline}
            for name, signal, gain, baseline in zip(
                record.lead_names, record.signals, record.gains, record.baselines, strict=True
            )
        ],
    }
    async with httpx.AsyncClient(
        base_url=gateway_url, headers=owner.headers(), timeout=60
    ) as client:
        uploaded = await client.post("/api/v1/ecg/", json=body)
        assert uploaded.status_code == 202, uploaded.text
        ecg_id = uploaded.json()["id"]
        lookup = await wait_until_done(client, ecg_id, deadline_seconds=120)
        assert lookup["status"] == "done", lookup
        await archived(client, ecg_id, length)
        beats = (await client.get(f"/api/v1/ecg/{ecg_id}/beats")).json()["sample_indices"]
    assert len(beats) > 300  # ~74 bpm for 5 minutes
    return Uploaded(ecg_id, length, record.sampling_rate, beats)


async def archived(client: httpx.AsyncClient, ecg_id: str, length: int) -> None:
    """Returns once the archive serves the last sample of every lead."""
    for _ in range(600):
        response = await client.get(
            f"/api/v1/ecg/{ecg_id}/signal", params={"start": length - 1, "end": length}
        )
        assert response.status_code == 200, response.text
        if all(len(lead["signal"]) == 1 for lead in response.json()["leads"]):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the archive of {ecg_id} does not reach sample {length}")


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


@pytest.fixture
async def tab(chromium: str) -> AsyncIterator[Tab]:
    async with open_tab(chromium, WIDTH, HEIGHT) as opened:
        yield opened


async def status(tab: Tab) -> dict[str, str]:
    found: dict[str, str] = await tab.evaluate(f"({{...{STATUS}}})")
    return found


async def drawn(tab: Tab, after_frame: int = 0) -> dict[str, Any]:
    """What the page reports once a frame after ``after_frame`` has drawn everything in
    view, its JSON attributes decoded and its numbers as numbers."""
    reported: dict[str, str] = await tab.wait_for(
        f"{STATUS}.state === 'drawn' && Number({STATUS}.frame) > {after_frame} "
        f"? {{...{STATUS}}} : null",
        f"a frame drawn after frame {after_frame}",
    )
    decoded: dict[str, Any] = {}
    for key, value in reported.items():
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return decoded


async def log_in(tab: Tab, gateway_url: str, ecg_id: str, account: Account) -> dict[str, Any]:
    await tab.navigate(f"{gateway_url}/ecg/{ecg_id}")
    await tab.wait_for(f"{STATUS}.state === 'login'", "the login form")
    await submit(tab, account.email, account.password)
    return await drawn(tab)


async def submit(tab: Tab, email: str, password: str) -> None:
    await tab.evaluate(
        "(() => { const form = document.querySelector('#login');"
        f" form.email.value = {json.dumps(email)}; form.password.value = {json.dumps(password)};"
        " form.requestSubmit(); })()"
    )


async def shot(tab: Tab) -> tuple[NDArray[np.int16], bytes]:
    """The screen as (height, width, RGB) from the paper canvas's top left, and the PNG."""
    png = await tab.screenshot()
    pixels = decode_png(png)[:, :, :3].astype(np.int16)
    box = await tab.evaluate(
        "(() => { const r = document.querySelector('#paper').getBoundingClientRect();"
        " return [r.left, r.top]; })()"
    )
    left, top = round(box[0]), round(box[1])
    return pixels[top:, left:], png


def near(pixels: NDArray[np.int16], colour: tuple[int, int, int], tolerance: int = 24) -> Any:
    return np.all(np.abs(pixels - np.array(colour)) <= tolerance, axis=-1)


def dark(pixels: NDArray[np.int16]) -> Any:
    return np.all(pixels < 90, axis=-1)


def in_view(beats: list[int], page: dict[str, Any]) -> list[int]:
    end = page["start"] + page["spp"] * page["plotWidth"]
    return [beat for beat in beats if page["start"] <= beat < end]


def assert_traces_in_every_strip(pixels: NDArray[np.int16], page: dict[str, Any]) -> None:
    """Every lead's strip has the trace's colour in (nearly) every column it covers."""
    left = page["plotLeft"] + 1
    right = page["plotLeft"] + int((page["end"] - page["start"]) / page["spp"]) - 2
    for strip in page["strips"]:
        area = dark(pixels[round(strip["top"]) : round(strip["bottom"]), left:right])
        columns = area.any(axis=0)
        assert columns.mean() > 0.98, (strip["name"], columns.mean())


def assert_beats_marked_where_they_are(
    pixels: NDArray[np.int16], page: dict[str, Any], beats: list[int]
) -> None:
    """The beat marks' colour in the band above the leads: at each beat's x, and in no
    column farther than a mark's half width from one."""
    band = pixels[round(page["beatTop"]) : round(page["beatBottom"])]
    columns = np.flatnonzero(near(band, BEAT, 40).any(axis=0))
    xs = [page["plotLeft"] + (beat - page["start"]) / page["spp"] for beat in beats]
    assert page["beatX"] == pytest.approx(xs, abs=0.01)
    for x in xs:
        assert np.any(np.abs(columns - x) <= 1.5), f"no mark at x={x:.1f}"
    for column in columns:
        assert min(abs(column - x) for x in xs) <= PX_PER_MM + 1.5, f"a mark at x={column}"


def assert_marks_sit_on_r_peaks(
    pixels: NDArray[np.int16], page: dict[str, Any], xs: list[float]
) -> None:
    """In the first lead (MLII: upright R waves), the trace is higher at each beat than
    anywhere 5 to 15 mm to either side of it."""
    strip, left = page["strips"][0], page["plotLeft"]
    area = dark(pixels[round(strip["top"]) : round(strip["bottom"]), left:])
    top = np.where(area.any(axis=0), area.argmax(axis=0), area.shape[0])  # highest dark px
    for x in xs:
        at = round(x) - left
        peak = top[max(0, at - 6) : at + 7].min()
        around = np.concatenate([top[max(0, at - 56) : max(0, at - 19)], top[at + 19 : at + 56]])
        if around.size:
            assert peak < around.min(), f"beat at x={x:.1f}: {peak} vs {around.min()}"


async def test_the_page_needs_no_token_but_its_data_does(
    http: httpx.AsyncClient, record_100: Uploaded
) -> None:
    page = await http.get(f"/ecg/{record_100.id}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    data = await http.get(f"/api/v1/ecg/{record_100.id}")
    assert data.status_code == 401
    assert data.headers["www-authenticate"].startswith("Bearer")


async def test_the_page_names_nothing_from_elsewhere(http: httpx.AsyncClient) -> None:
    page = (await http.get("/ecg/00000000-0000-4000-8000-000000000000")).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(source.startswith("/viewer/assets/") for source in sources), sources
    for source in sources:
        asset = await http.get(source)
        assert asset.status_code == 200, source


async def test_record_100_on_paper_with_its_beats(
    tab: Tab, gateway_url: str, record_100: Uploaded, owner: Account, tmp_path: Path
) -> None:
    page = await log_in(tab, gateway_url, record_100.id, owner)

    paper_spp = record_100.rate / (25 * PX_PER_MM)
    assert page["source"] == "signal"
    assert (page["start"], page["spp"]) == (0, pytest.approx(paper_spp))
    assert page["speed"] == pytest.approx(25)
    assert page["pxPerMm"] == pytest.approx(PX_PER_MM)
    assert [strip["name"] for strip in page["strips"]] == ["MLII", "V5"]
    beats = in_view(record_100.beats, page)
    assert len(beats) >= 10  # ~12.8 s of a ~74 bpm rhythm
    assert page["beatSamples"] == beats
    assert page["requests"]["overview"] == 0

    pixels, png = await shot(tab)
    (tmp_path / "viewer-mitdb100.png").write_bytes(png)
    paper = pixels[: round(page["strips"][-1]["bottom"]), page["plotLeft"] :]
    major_lines = page["plotWidth"] / (5 * PX_PER_MM)
    assert near(paper, MAJOR_GRID, 12).sum() > major_lines * paper.shape[0]
    assert_traces_in_every_strip(pixels, page)
    assert_beats_marked_where_they_are(pixels, page, beats)
    assert_marks_sit_on_r_peaks(pixels, page, page["beatX"])

    origin = gateway_url.rstrip("/")
    assert all(url.startswith(origin + "/") for url in tab.requested), tab.requested
    assert tab.problems == []


async def test_zoomed_out_the_whole_recording_comes_from_the_overview(
    tab: Tab, gateway_url: str, record_100: Uploaded, owner: Account, tmp_path: Path
) -> None:
    page = await log_in(tab, gateway_url, record_100.id, owner)

    await tab.press("a")
    whole = await drawn(tab, page["frame"])
    assert whole["source"] == "overview"
    assert (whole["start"], whole["end"]) == (0, record_100.length)
    assert whole["requests"]["overview"] >= 1
    assert whole["beatsInView"] == len(record_100.beats)
    assert whole["beats"] == 0  # too dense to mark: counted
    pixels, png = await shot(tab)
    (tmp_path / "whole.png").write_bytes(png)
    assert_traces_in_every_strip(pixels, whole)
    band = pixels[round(whole["beatTop"]) : round(whole["beatBottom"]), whole["plotLeft"] :]
    assert not near(band, BEAT, 40).any()

    # A click at three quarters of the trend centres the view there, at paper speed.
    box = await tab.evaluate(
        "(() => { const r = document.querySelector('#trend').getBoundingClientRect();"
        " return [r.left, r.top, r.width]; })()"
    )
    await tab.press("0")
    paper = await drawn(tab, whole["frame"])
    left = box[0] + paper["plotLeft"]
    await tab.click(left + 0.75 * (box[2] - paper["plotLeft"]), box[1] + 30)
    there = await drawn(tab, paper["frame"])
    assert there["source"] == "signal"
    middle = there["start"] + there["spp"] * there["plotWidth"] / 2
    assert middle == pytest.approx(0.75 * record_100.length, abs=2 * there["spp"])
    pixels, _ = await shot(tab)
    beats = in_view(record_100.beats, there)
    assert there["beatSamples"] == beats
    assert_traces_in_every_strip(pixels, there)
    assert_beats_marked_where_they_are(pixels, there, beats)

    await tab.press("ArrowRight")
    moved = await drawn(tab, there["frame"])
    assert moved["start"] == there["start"] + round(there["plotWidth"] / 4 * there["spp"])

    # The wheel zooms about the pointer: the sample under it stays there.
    canvas = await tab.evaluate(
        "(() => { const r = document.querySelector('#paper').getBoundingClientRect();"
        " return [r.left, r.top]; })()"
    )
    x = moved["plotLeft"] + 300
    under = moved["start"] + 300 * moved["spp"]
    await tab.wheel(canvas[0] + x, canvas[1] + 100, 500)
    wheeled = await drawn(tab, moved["frame"])
    assert wheeled["spp"] == pytest.approx(moved["spp"] * np.exp(1))
    assert wheeled["start"] + 300 * wheeled["spp"] == pytest.approx(under, abs=1)
    assert wheeled["source"] == "overview"  # 10.4 samples a px
    assert tab.problems == []


async def test_a_refused_token_is_refreshed_and_logging_out_ends_the_session(
    tab: Tab, gateway_url: str, record_100: Uploaded, owner: Account, http: httpx.AsyncClient
) -> None:
    await tab.navigate(f"{gateway_url}/ecg/{record_100.id}")
    await tab.wait_for(f"{STATUS}.state === 'login'", "the login form")
    await submit(tab, owner.email, owner.password + "-wrong")
    await tab.wait_for(
        "document.querySelector('#login-problem').textContent.includes('Wrong')", "the refusal"
    )
    await submit(tab, owner.email, owner.password)
    page = await drawn(tab)

    key = "ecg-pipeline.viewer.tokens"
    tokens = json.loads(await tab.evaluate(f"sessionStorage.getItem('{key}')"))
    await tab.evaluate(
        f"sessionStorage.setItem('{key}', JSON.stringify({{...JSON.parse("
        f"sessionStorage.getItem('{key}')), access: 'expired'}}))"
    )
    await tab.press("End")  # samples not read yet: asked for with the refused token
    end = await drawn(tab, page["frame"])
    assert end["end"] == record_100.length
    renewed = json.loads(await tab.evaluate(f"sessionStorage.getItem('{key}')"))
    assert renewed["access"] not in ("expired", tokens["access"])
    assert renewed["refresh"] != tokens["refresh"]
    assert sum("/api/v1/auth/refresh" in url for url in tab.requested) == 1

    # Another ECG's page in the same tab: the same login, and the API's 404 said plainly.
    await tab.navigate(f"{gateway_url}/ecg/{uuid4()}")
    await tab.wait_for(f"{STATUS}.state === 'error'", "the page of an unknown ECG")
    said = await tab.evaluate("document.querySelector('#status').textContent")
    assert said == "No such ECG, or not yours."

    await tab.evaluate("document.querySelector('#logout').click()")
    await tab.wait_for(f"{STATUS}.state === 'login'", "the login form after logging out")
    assert await tab.evaluate(f"sessionStorage.getItem('{key}')") is None
    spent = await http.get(
        "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {renewed['refresh']}"}
    )
    assert spent.status_code == 401
