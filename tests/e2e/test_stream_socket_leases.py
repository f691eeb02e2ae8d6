"""A WebSocket holds its stream and counts its chunks in memory, writing the position to
PostgreSQL in batches (``gateway.devices.leases``), through the running stack: a
connection that drops mid-stream, with chunks acknowledged but not yet written, resumes
on a new connection and over HTTP with nothing lost and nothing doubled; the position
written at the close is every acknowledged sample; and a stream that a WebSocket holds
is not closed as idle, however old its ``last_chunk_at``, while the idle timeout closes
a silent stream beside it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import asyncpg
import httpx
import numpy as np
from numpy.typing import NDArray

from tests.binary_chunks import binary_chunk
from tests.e2e.streaming import device, open_stream, poll_lookup, results, send, upload_whole
from tests.e2e.test_stream_socket import ack, answer, dial
from tests.records import read_record

RATE = 360


async def stream_row(db: asyncpg.Connection, ecg_id: str) -> asyncpg.Record:
    row = await db.fetchrow(
        """
        SELECT s.next_seq, s.next_sample, s.lease_until IS NOT NULL AS leased,
               ARRAY(SELECT number_of_samples FROM ecg_leads
                     WHERE ecg_id = s.ecg_id ORDER BY position) AS counts
        FROM ecg_streams s WHERE s.ecg_id = $1
        """,
        ecg_id,
    )
    assert row is not None
    return row


async def released(db: asyncpg.Connection, ecg_id: str) -> asyncpg.Record:
    """The stream's row once its WebSocket has given it up (the gateway handles a close
    a moment after the client made it)."""
    for _ in range(100):
        row = await stream_row(db, ecg_id)
        if not row["leased"]:
            return row
        await db.execute("SELECT pg_sleep(0.05)")
    raise AssertionError(f"the WebSocket of ECG {ecg_id} never gave its stream up: {row}")


def seconds(signals: NDArray[np.int32]) -> list[NDArray[np.int32]]:
    return [signals[:, start : start + RATE] for start in range(0, signals.shape[1], RATE)]


async def test_a_dropped_connection_resumes_over_a_new_one_and_over_http_losing_nothing(
    client: httpx.AsyncClient, gateway_url: str, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 40 * RATE]
    uploaded = await upload_whole(client, signals, record.lead_names, RATE)
    pieces = seconds(signals)
    ecg_id, token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)

    # Fewer chunks than a batch, quicker than its seconds: acknowledged, counted in the
    # gateway's memory only, when the connection drops with three more in flight.
    first = await dial(gateway_url, ecg_id, token)
    assert await answer(first) == {"type": "ready", "next_seq": 0}
    for seq in range(10):
        await first.send(binary_chunk(seq, pieces[seq]))
    assert [await answer(first) for _ in range(10)] == [ack(seq) for seq in range(10)]
    for seq in (10, 11, 12):
        await first.send(binary_chunk(seq, pieces[seq]))
    first.transport.abort()

    retried = await send(client, ecg_id, token, 3, pieces[3].tolist())
    assert (retried.status_code, retried.json()) == (202, {"seq": 3})

    second = await dial(gateway_url, ecg_id, token)
    ready = await answer(second)
    resume = ready["next_seq"]
    assert 10 <= resume <= 13, ready
    for seq in range(resume - 2, 25):  # two already acknowledged: acknowledged again
        await second.send(binary_chunk(seq, pieces[seq]))
    assert [await answer(second) for _ in range(resume - 2, 25)] == [
        ack(seq) for seq in range(resume - 2, 25)
    ]
    second.transport.abort()  # and this one drops with everything answered

    for seq in range(25, len(pieces)):  # the rest over HTTP, the first one twice
        by_http = await send(client, ecg_id, token, seq, pieces[seq].tolist())
        assert (by_http.status_code, by_http.json()) == (202, {"seq": seq})
    again = await send(client, ecg_id, token, 25, pieces[25].tolist())
    assert (again.status_code, again.json()) == (202, {"seq": 25})
    ended = await client.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token))
    assert (ended.status_code, ended.json()) == (202, {"seq": len(pieces)})

    streamed = await results(client, ecg_id)
    assert streamed == await results(client, uploaded)
    assert [lead["number_of_samples"] for lead in streamed["leads"]] == [40 * RATE] * 2


async def test_the_position_written_at_the_close_is_every_acknowledged_sample(
    client: httpx.AsyncClient, gateway_url: str, data_dir: Path, db: asyncpg.Connection
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    sizes = [360, 7, 1000, 1, 250, 360, 99]
    cuts = itertools.accumulate(sizes, initial=0)
    pieces = [record.signals[:, a:b] for a, b in itertools.pairwise(cuts)]
    ecg_id, token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)

    async with dial(gateway_url, ecg_id, token) as socket:
        assert await answer(socket) == {"type": "ready", "next_seq": 0}
        for seq, piece in enumerate(pieces):
            await socket.send(binary_chunk(seq, piece))
        assert [await answer(socket) for _ in pieces] == [ack(seq) for seq in range(len(pieces))]
        assert (await stream_row(db, ecg_id))["leased"]  # held while the connection is open

    row = await released(db, ecg_id)
    total = sum(sizes)
    assert (row["next_seq"], row["next_sample"], row["counts"]) == (len(sizes), total, [total] * 2)
    lookup = (await client.get(f"/api/v1/ecg/{ecg_id}")).json()
    assert [lead["number_of_samples"] for lead in lookup["leads"]] == [total, total]

    async with dial(gateway_url, ecg_id, token) as socket:
        assert await answer(socket) == {"type": "ready", "next_seq": len(sizes)}
        await socket.send(json.dumps({"type": "end"}))
        assert await answer(socket) == {"type": "ended", "seq": len(sizes)}
    done = await results(client, ecg_id)
    assert [lead["number_of_samples"] for lead in done["leads"]] == [total, total]
    assert [lead["number_of_samples"] for lead in done["summary"]["leads"]] == [total, total]


async def test_a_stream_that_a_websocket_holds_is_not_closed_as_idle_while_chunks_flow(
    client: httpx.AsyncClient, gateway_url: str, data_dir: Path, db: asyncpg.Connection
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    pieces = seconds(record.signals[:, : 12 * RATE])
    held, token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)
    silent, silent_token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)
    assert (await send(client, silent, silent_token, 0, pieces[0].tolist())).status_code == 202

    async with dial(gateway_url, held, token) as socket:
        assert await answer(socket) == {"type": "ready", "next_seq": 0}
        for seq in range(6):
            await socket.send(binary_chunk(seq, pieces[seq]))
            assert await answer(socket) == ack(seq)
        # Both streams' last chunks made two hours old, older than the stack's idle
        # timeout: the idle timer (every second under `make test`) closes the silent one,
        # and leaves the one whose WebSocket holds it, which goes on streaming.
        await db.execute(
            "UPDATE ecg_streams SET last_chunk_at = now() - interval '2 hours' "
            "WHERE ecg_id = ANY($1::uuid[])",
            [held, silent],
        )
        closed = await poll_lookup(
            client, silent, lambda lookup: lookup["status"] == "incomplete", "the idle timeout"
        )
        assert closed["status"] == "incomplete"
        assert (await client.get(f"/api/v1/ecg/{held}")).json()["status"] == "receiving"
        for seq in range(6, len(pieces)):
            await socket.send(binary_chunk(seq, pieces[seq]))
            assert await answer(socket) == ack(seq)
        await socket.send(json.dumps({"type": "end"}))
        assert await answer(socket) == {"type": "ended", "seq": len(pieces)}

    done = await results(client, held)
    assert done["status"] == "done"
    assert [lead["number_of_samples"] for lead in done["leads"]] == [12 * RATE] * 2
