"""The lookup of a stream while it is still receiving, through the public API of the
running stack: the windows closed so far and the summary over them (``final`` false),
replaced by the final summary, the same as an upload's, once the stream has ended."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.streaming import all_windows, device, open_stream, send, upload_whole
from tests.e2e.test_upload_and_lookup import wait_until_done
from tests.records import read_record

RATE = 360
SECONDS = 35  # three whole 10-s windows and a partial one


async def wait_for_summary_so_far(
    client: httpx.AsyncClient, ecg_id: str, deadline_seconds: float = 90
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The lookup and the windows once the lookup shows at least two windows and a
    summary so far over exactly the windows stored (windows and summaries land in
    either order, so the two may disagree for a moment)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        response = await client.get(f"/api/v1/ecg/{ecg_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "receiving", body
        count, summary = body["windows"]["count"], body["summary"]
        if count >= 2 and summary and summary["n_windows"] == count:
            stored = await all_windows(client, ecg_id)
            if len(stored) == count:
                return body, stored
        assert time.monotonic() < deadline, f"no summary of 2 or more windows so far: {body}"
        await asyncio.sleep(0.2)


async def test_a_live_lookup_shows_the_summary_so_far_then_the_final_one(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    assert record.sampling_rate == RATE
    signals = record.signals[:, : SECONDS * RATE]
    ecg_id, token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)
    first = (await client.get(f"/api/v1/ecg/{ecg_id}")).json()
    assert (first["status"], first["summary"], first["windows"]["count"]) == ("receiving", None, 0)

    for second in range(SECONDS):  # as a device sends them: one second per chunk
        piece = signals[:, second * RATE : (second + 1) * RATE].tolist()
        answer = await send(client, ecg_id, token, second, piece)
        assert answer.status_code == 202, answer.text

    live, windows = await wait_for_summary_so_far(client, ecg_id)
    so_far = live["summary"]
    assert so_far["final"] is False
    assert so_far["n_windows"] == live["windows"]["count"] == len(windows) >= 2
    closed = windows[-1]["end_sample"]
    for position, lead in enumerate(so_far["leads"]):
        mine = [window["leads"][position] for window in windows]
        assert lead["number_of_samples"] == sum(w["number_of_samples"] for w in mine) == closed
        assert lead["zero_crossings"] == sum(w["zero_crossings"] for w in mine)
        assert lead["min"]["value"] == min(w["min"]["value"] for w in mine)
        assert lead["max"]["value"] == max(w["max"]["value"] for w in mine)
    assert so_far["beat_count"]["value"] == sum(len(w["beats"]) for w in windows) > 0
    assert so_far["heart_rate_bpm"]["value"] == pytest.approx(75, abs=8)
    # The leads show every sample received, and the zero crossings of the closed windows.
    assert [lead["number_of_samples"] for lead in live["leads"]] == [SECONDS * RATE] * 2
    assert [lead["zero_crossings"] for lead in live["leads"]] == [
        lead["zero_crossings"] for lead in so_far["leads"]
    ]

    ended = await client.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token))
    assert ended.status_code == 202, ended.text
    uploaded = await upload_whole(client, signals, record.lead_names, RATE)
    streamed = await wait_until_done(client, ecg_id)
    whole = await wait_until_done(client, uploaded)
    assert streamed["status"] == whole["status"] == "done"
    assert streamed["summary"]["final"] is True
    assert streamed["summary"] == whole["summary"]
    assert streamed["summary"]["n_windows"] == streamed["windows"]["count"] == 4
    assert streamed["leads"] == whole["leads"]
