"""Every sample kept: an ECG uploaded and one streamed (over HTTP, JSON and binary
chunks, and over a WebSocket) read back through the running stack sample for sample
equal to what was sent, from the worker's archive in PostgreSQL (``streams.archive``),
as JSON and as the binary format."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray

from schemas.binary_chunks import decode_binary_chunk, encode_binary_chunk
from tests.e2e.streaming import device, open_stream, send, upload_whole
from tests.e2e.test_stream_socket import answer, chunk, dial
from tests.records import read_record

SIZES = (360, 1, 999, 2500, 77)  # samples per chunk, cycled


async def read_back(
    client: httpx.AsyncClient, ecg_id: str, samples: int, deadline_seconds: float = 60
) -> dict[str, Any]:
    """The whole signal once the archive holds ``samples`` of every lead."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        response = await client.get(f"/api/v1/ecg/{ecg_id}/signal")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if all(len(lead["signal"]) >= samples for lead in body["leads"]):
            return body
        assert time.monotonic() < deadline, f"the archive holds {body['end']} of {samples}"
        await asyncio.sleep(0.2)


def as_array(body: dict[str, Any]) -> NDArray[np.int64]:
    return np.array([lead["signal"] for lead in body["leads"]], dtype=np.int64)


async def test_an_upload_reads_back_sample_for_sample(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 360 * 120]  # two minutes: several upload chunks
    ecg_id = await upload_whole(client, signals, record.lead_names, record.sampling_rate)
    body = await read_back(client, ecg_id, signals.shape[1])
    assert (body["start"], body["end"], body["sampling_rate"]) == (0, signals.shape[1], 360.0)
    assert [lead["name"] for lead in body["leads"]] == list(record.lead_names)
    assert np.array_equal(as_array(body), signals)

    middle = await client.get(
        f"/api/v1/ecg/{ecg_id}/signal",
        params={"leads": record.lead_names[1], "start": 1000, "end": 31_000},
        headers={"Accept": "application/octet-stream"},
    )
    assert middle.status_code == 200, middle.text
    assert middle.headers["x-ecg-start"] == "1000"
    seq, samples = decode_binary_chunk(middle.content, 1, 30_000)
    assert seq == 1000
    assert np.array_equal(samples[0], signals[1, 1000:31_000])


async def test_a_stream_reads_back_sample_for_sample(
    http: httpx.AsyncClient, client: httpx.AsyncClient, gateway_url: str, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 360 * 60] - 1024
    ecg_id, token = await open_stream(client, sampling_rate=360, leads=["MLII", "V5"])
    pieces: list[NDArray[np.int32]] = []
    start = 0
    while start < signals.shape[1]:
        size = SIZES[len(pieces) % len(SIZES)]
        pieces.append(signals[:, start : start + size])
        start += size
    half = len(pieces) // 2
    for seq, piece in enumerate(pieces[:half]):
        if seq % 2:  # JSON and binary chunks alike
            response = await send(http, ecg_id, token, seq, piece.tolist())
        else:
            response = await http.post(
                f"/api/v1/ecg/{ecg_id}/chunks",
                content=encode_binary_chunk(seq, piece),
                headers={**device(token), "Content-Type": "application/octet-stream"},
            )
        assert response.status_code == 202, response.text
    async with dial(gateway_url, ecg_id, token) as socket:
        assert await answer(socket) == {"type": "ready", "next_seq": half}
        for seq in range(half, len(pieces)):
            await socket.send(chunk(seq, pieces[seq]))
            assert await answer(socket) == {"type": "ack", "seq": seq}
        await socket.send('{"type": "end"}')
        assert (await answer(socket))["type"] == "ended"
    body = await read_back(client, ecg_id, signals.shape[1])
    assert body["end"] == signals.shape[1]
    assert np.array_equal(as_array(body), signals)


async def test_the_overview_of_an_upload_is_its_exact_extremes(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 360 * 300]  # five minutes, in upload chunks
    ecg_id = await upload_whole(client, signals, record.lead_names, record.sampling_rate)
    await read_back(client, ecg_id, signals.shape[1])
    for start, end, buckets in ((0, signals.shape[1], 700), (12_345, 98_765, 37)):
        params = {"start": start, "end": end, "buckets": buckets}
        response = await client.get(f"/api/v1/ecg/{ecg_id}/overview", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        size = body["bucket_samples"]
        assert (body["start"], body["end"]) == (start, end)
        for lead, samples in zip(body["leads"], signals, strict=True):
            edges = range(start, end, size)
            assert lead["min"] == [int(samples[e : min(e + size, end)].min()) for e in edges]
            assert lead["max"] == [int(samples[e : min(e + size, end)].max()) for e in edges]
