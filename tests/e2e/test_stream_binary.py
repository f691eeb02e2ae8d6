"""Binary chunks (``application/octet-stream``) through the public API of the running
stack: a device mixing int16, int32 and JSON chunks, retrying one and leaving a gap, gets
what the same signal uploaded whole gets; and every way of getting the bytes wrong."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import numpy as np
import pytest

from gateway.settings import Settings
from tests.binary_chunks import binary_chunk
from tests.e2e.streaming import (
    PROBLEM_JSON,
    device,
    open_stream,
    results,
    send,
    upload_whole,
)
from tests.records import read_record

BINARY = "application/octet-stream"
CHUNK_BYTES = Settings.chunk_bytes  # the stack runs with the default ECG_CHUNK_BYTES


async def send_bytes(
    http: httpx.AsyncClient, ecg_id: str, token: str, data: bytes, media_type: str = BINARY
) -> httpx.Response:
    headers = {**device(token), "Content-Type": media_type}
    return await http.post(f"/api/v1/ecg/{ecg_id}/chunks", content=data, headers=headers)


async def test_binary_chunks_give_what_the_upload_gives(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, :12_000]  # 33.3 s: three whole windows and a partial one
    uploaded = await upload_whole(client, signals, record.lead_names, record.sampling_rate)
    ecg_id, token = await open_stream(
        client, sampling_rate=record.sampling_rate, leads=record.lead_names
    )
    cuts = [0, 1000, 1001, 3500, 4277, 8000, 8001, 12_000]
    pieces = [signals[:, a:b] for a, b in itertools.pairwise(cuts)]
    widths = [2, 4, None, 2, 4, 4, 2]  # None: this one as JSON

    async def send_piece(seq: int) -> httpx.Response:
        width = widths[seq]
        if width is None:
            return await send(client, ecg_id, token, seq, pieces[seq].tolist())
        return await send_bytes(client, ecg_id, token, binary_chunk(seq, pieces[seq], width))

    for seq in range(len(pieces)):
        answer = await send_piece(seq)
        assert (answer.status_code, answer.json()) == (202, {"seq": seq}), answer.text
        if seq == 3:  # its answer was lost: the device sends it again, then skips one
            retried = await send_piece(3)
            assert (retried.status_code, retried.json()) == (202, {"seq": 3})
            gap = await send_bytes(client, ecg_id, token, binary_chunk(5, pieces[5], 4))
            assert gap.status_code == 409
            assert gap.headers["content-type"] == PROBLEM_JSON
            assert (gap.json()["type"], gap.json()["expected_seq"]) == ("/problems/chunk-gap", 4)
            assert "send seq 4 first" in gap.json()["detail"]
    late = await send_piece(1)  # a retry long after: answered, not counted again
    assert (late.status_code, late.json()) == (202, {"seq": 1})

    receiving = (await client.get(f"/api/v1/ecg/{ecg_id}")).json()
    assert [lead["number_of_samples"] for lead in receiving["leads"]] == [12_000, 12_000]
    ended = await client.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token))
    assert (ended.status_code, ended.json()) == (202, {"seq": len(pieces)})
    after = await send_bytes(client, ecg_id, token, binary_chunk(len(pieces), pieces[0]))
    assert (after.status_code, after.json()["type"]) == (409, "/problems/stream-ended")

    streamed = await results(client, ecg_id)
    assert streamed == await results(client, uploaded)
    assert streamed["status"] == "done"
    assert streamed["summary"]["n_windows"] == 4
    assert len(streamed["beats"]["sample_indices"]) == pytest.approx(42, abs=4)  # ~76 bpm


async def test_the_largest_binary_chunk_is_taken_and_one_byte_more_is_not(
    client: httpx.AsyncClient,
) -> None:
    ecg_id, token = await open_stream(client)
    per_lead = CHUNK_BYTES // (2 * 4)
    largest = binary_chunk(0, np.full((2, per_lead), -(2**31), dtype=np.int64), 4)
    taken = await send_bytes(client, ecg_id, token, largest)
    assert (taken.status_code, taken.json()) == (202, {"seq": 0})
    too_large = await send_bytes(client, ecg_id, token, largest + b"\0")
    assert too_large.status_code == 413
    assert (
        too_large.json()["detail"] == f"the body is larger than the limit of {len(largest)} bytes"
    )
    too_many = await send_bytes(client, ecg_id, token, binary_chunk(1, np.ones((2, per_lead + 1))))
    assert too_many.status_code == 422
    assert too_many.json()["detail"] == (
        f"samples: has {per_lead + 1} samples per lead; a chunk takes at most {per_lead}: "
        "send them in several chunks"
    )
    result = (await client.get(f"/api/v1/ecg/{ecg_id}")).json()
    assert [lead["number_of_samples"] for lead in result["leads"]] == [per_lead, per_lead]


@pytest.mark.parametrize(
    ("data", "fields", "detail"),
    [
        (
            b"EC\x01\x02",
            ["header"],
            "header: the body has 4 bytes; a binary chunk starts with a 12-byte header: "
            "the magic 'EC', the version 1, the sample width and the seq",
        ),
        (
            b'{"seq": 0, "signal": [[1], [2]]}',
            ["header.magic"],
            "header.magic: expected the ASCII magic 'EC' in bytes 0-1, got b'{\"'; "
            "this looks like a JSON chunk: send it as application/json",
        ),
        (
            binary_chunk(0, [[1], [2]], version=2),
            ["header.version"],
            "header.version: expected format version 1, got 2",
        ),
        (
            binary_chunk(2**63, [[1], [2]], 3),
            ["header.sample_width", "header.seq"],
            "2 problems: header.sample_width: expected the bytes per sample, 2 (int16) or "
            f"4 (int32), got 3; header.seq: expected a seq from 0 (the first chunk) to "
            f"{2**63 - 1}, got {2**63}",
        ),
        (
            binary_chunk(0, [[1, 2, 3], [4, 5, 6]])[:-1],
            ["samples"],
            "samples: 11 bytes after the header is not a whole number of samples: "
            "2 leads x 2 bytes = 4 bytes per sample",
        ),
        (
            binary_chunk(0, [[], []]),
            ["samples"],
            "samples: none after the header; a chunk has at least one "
            "(2 leads x 2 bytes = 4 bytes per sample)",
        ),
    ],
)
async def test_a_bad_binary_chunk_says_what_to_fix(
    client: httpx.AsyncClient, data: bytes, fields: list[str], detail: str
) -> None:
    ecg_id, token = await open_stream(client)
    response = await send_bytes(client, ecg_id, token, data)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/invalid-input"
    assert [error["field"] for error in response.json()["errors"]] == fields
    assert response.json()["detail"] == detail


async def test_a_chunk_is_json_or_bytes_and_nothing_else(
    client: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    ecg_id, token = await open_stream(client)
    text = await send_bytes(client, ecg_id, token, b"0 1 2", "text/plain; charset=utf-8")
    assert text.status_code == 415
    assert text.headers["content-type"] == PROBLEM_JSON
    assert text.headers["accept-post"] == "application/json, application/octet-stream"
    assert text.json()["type"] == "/problems/unsupported-media-type"
    assert text.json()["detail"] == (
        "Content-Type 'text/plain' is not accepted here; "
        "send the body as application/json or application/octet-stream"
    )
    # The token first: without one, the media type is nobody's business yet.
    anonymous = await http.post(
        f"/api/v1/ecg/{ecg_id}/chunks", content=b"0", headers={"Content-Type": "text/plain"}
    )
    assert anonymous.status_code == 401
    # No Content-Type at all is JSON, as it was before binary chunks.
    untyped = await http.post(
        f"/api/v1/ecg/{ecg_id}/chunks",
        content=b'{"seq": 0, "signal": [[1], [2]]}',
        headers=device(token),
    )
    assert "content-type" not in untyped.request.headers
    assert (untyped.status_code, untyped.json()) == (202, {"seq": 0})
    as_json = await send_bytes(
        client, ecg_id, token, b'{"seq": 1, "signal": [[1], [2]]}', "application/json"
    )
    assert (as_json.status_code, as_json.json()) == (202, {"seq": 1})
