"""How a device stream closes, through the real gateway, Kafka, worker and database:
an end that races with chunks in flight never takes a chunk's seq, and a stream that
falls silent is closed by the pipeline (the leader worker's idle timer) as 'incomplete'
with its results so far."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx

from tests.e2e.streaming import device, has_final_summary, open_stream, poll_lookup, send
from tests.e2e.test_stream_socket import refused
from tests.records import read_record

RATE = 360


async def test_an_end_racing_with_chunks_never_takes_their_seq(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    """Chunk n and the end sent at once: either the chunk is acknowledged and the end
    comes after it, or the chunk is refused because the stream ended; in both cases the
    summary counts exactly the acknowledged samples."""
    record = read_record(data_dir / "mitdb" / "100")
    piece = record.signals[:, :500].tolist()
    for attempt in range(6):
        ecg_id, token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)
        for seq in range(2):
            assert (await send(client, ecg_id, token, seq, piece)).status_code == 202
        racing = send(client, ecg_id, token, 2, piece)
        ending = client.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token))
        if attempt % 2:  # either may reach the gateway first
            ended, chunk = await asyncio.gather(ending, racing)
        else:
            chunk, ended = await asyncio.gather(racing, ending)
        assert ended.status_code == 202, ended.text
        if chunk.status_code == 202:
            assert ended.json() == {"seq": 3}
            acknowledged = 3 * 500
        else:
            assert chunk.status_code == 409, chunk.text
            assert "has ended" in chunk.json()["detail"]
            assert ended.json() == {"seq": 2}
            acknowledged = 2 * 500
        done = await poll_lookup(client, ecg_id, has_final_summary, "the final summary")
        assert done["status"] == "done"
        assert [lead["number_of_samples"] for lead in done["leads"]] == [acknowledged] * 2
        assert [lead["number_of_samples"] for lead in done["summary"]["leads"]] == [
            acknowledged
        ] * 2


async def test_a_silent_stream_is_closed_as_incomplete_with_its_results(
    client: httpx.AsyncClient,
    data_dir: Path,
    database_url: str,
    gateway_url: str,
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 25 * RATE]  # two whole windows and half of a third
    ecg_id, token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)
    for seq, start in enumerate(range(0, signals.shape[1], RATE)):
        chunk = signals[:, start : start + RATE].tolist()
        assert (await send(client, ecg_id, token, seq, chunk)).status_code == 202
    chunks = seq + 1

    # The device falls silent: its last chunk is made two hours old, more than the
    # stack's idle timeout (ECG_STREAM_IDLE_SECONDS, 300 s), and the leader worker's timer
    # (every ECG_STREAM_IDLE_CHECK_SECONDS: 1 s under `make test`, 15 s by default)
    # closes the stream: its ECG becomes 'incomplete' and its final chunk goes to Kafka.
    database = await asyncpg.connect(database_url)
    try:
        await database.execute(
            "UPDATE ecg_streams SET last_chunk_at = now() - interval '2 hours' WHERE ecg_id = $1",
            ecg_id,
        )
    finally:
        await database.close()
    await poll_lookup(
        client, ecg_id, lambda lookup: lookup["status"] == "incomplete", "the idle timeout", 60
    )
    done = await poll_lookup(client, ecg_id, has_final_summary, "the final summary")
    assert done["status"] == "incomplete"
    assert done["summary"]["n_windows"] == 3
    assert [lead["number_of_samples"] for lead in done["summary"]["leads"]] == [25 * RATE] * 2
    assert done["summary"]["beat_count"]["value"] > 20

    late = await send(client, ecg_id, token, chunks, signals[:, :RATE].tolist())
    assert late.status_code == 409, late.text
    assert "idle timeout" in late.json()["detail"]
    end = await client.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token))
    assert end.status_code == 409, end.text
    assert "incomplete" in end.json()["detail"]
    handshake = await refused(gateway_url, ecg_id, token)
    assert handshake.status_code == 409
    assert "idle timeout" in handshake.json()["detail"]
