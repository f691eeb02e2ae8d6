"""``GET /api/v1/ecg/{ecg_id}/overview?leads=&start=&end=&buckets=``: each lead's
smallest and largest sample in each of ``buckets`` equal runs of ``[start, end)``, so
that a viewer draws 24 hours (43 M samples a lead at 500 Hz) from a few thousand
numbers, and reads the samples themselves (``/signal``) only where it zooms in.

Owner only and audited, like ``/signal``, whose ``leads``, ``start`` and ``end`` it
takes; ``buckets`` from 1 to ``MAX_BUCKETS`` (default ``DEFAULT_BUCKETS``). The answer
is ``{start, end, bucket_samples, sampling_rate, leads: [{name, gain, baseline, min,
max}]}``: bucket ``k`` covers samples ``[start + k * bucket_samples, ...)``, and a
bucket without a stored sample of the lead has ``null``.

Exact, not sampled: a chunk that lies within one bucket gives its extremes as the
archive stored them beside it (migration 0011), without being unpacked; only the
chunks that straddle a bucket's edge (at most one an edge), are cut at the range's
ends, or were stored without extremes are unpacked. A 24-hour overview in 1,000
buckets thus reads ~86,400 rows of a dozen numbers and unpacks ~1,000 chunks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import anyio.to_thread
import numpy as np
from anyio import CapacityLimiter
from numpy.typing import NDArray
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.authentication import Authenticator
from gateway.declarations import Query, QueryInteger
from gateway.errors import EcgNotFoundError, FieldError, InvalidInputError
from gateway.recordings.access import NO_STORE, reading_ecg
from gateway.recordings.ranges import select_leads
from gateway.recordings.repository import ArchivedChunk, ChunkEnvelope, SignalLayout
from gateway.recordings.signal import SIGNAL_QUERY
from gateway.recordings.state import RecordingsState
from schemas.sample_archive import unpack

DEFAULT_BUCKETS: Final = 1000
MAX_BUCKETS: Final = 10_000
WORKERS: Final = 2

# /signal's leads and range, and the bucket count.
OVERVIEW_QUERY: Final = Query(
    (
        *SIGNAL_QUERY.parameters,
        QueryInteger("buckets", DEFAULT_BUCKETS, 1, MAX_BUCKETS, "how many runs of samples"),
    )
)


class OverviewEndpoints:
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator
        self._workers = CapacityLimiter(WORKERS)

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/ecg/{ecg_id}/overview", self.overview, methods=["GET"], name="overview")
        ]

    async def overview(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.overview") as (ecg_id, owner):
            query = OVERVIEW_QUERY.check(request.query_params)
            start, end, buckets = query["start"], query["end"], query["buckets"]
            if end != -1 and end <= start:
                raise InvalidInputError(
                    [FieldError("end", f"must be greater than start ({start}), got {end}")]
                )
            repository = request.state["repository"]
            layout = await repository.signal_layout(ecg_id, owner)
            if layout is None:
                raise EcgNotFoundError(ecg_id)
            positions = select_leads(query["leads"], layout.leads)
            if end == -1:
                end = max((layout.leads[p].stored for p in positions), default=0)
            envelopes: list[ChunkEnvelope] = []
            unpacked: list[ArchivedChunk] = []
            if end > start:
                envelopes = await repository.chunk_envelopes(ecg_id, owner, start, end)
                size = bucket_samples(start, end, buckets)
                straddling = to_unpack(envelopes, positions, start, end, size)
                if straddling:
                    unpacked = await repository.chunks_at(ecg_id, owner, straddling)
        body = await anyio.to_thread.run_sync(
            overview_json,
            layout,
            positions,
            envelopes,
            unpacked,
            start,
            max(start, end),
            buckets,
            limiter=self._workers,
        )
        return Response(body, media_type="application/json", headers=dict(NO_STORE))


def bucket_samples(start: int, end: int, buckets: int) -> int:
    """Samples per bucket: ``buckets`` runs that cover ``[start, end)``."""
    return max(1, -(-(end - start) // buckets))


def to_unpack(
    envelopes: Sequence[ChunkEnvelope], positions: Sequence[int], start: int, end: int, size: int
) -> list[int]:
    """The first samples of the chunks whose extremes do not answer for a bucket: they
    straddle a bucket's edge or the range's, or have no extremes stored."""
    starts = []
    for chunk in envelopes:
        for position in positions:
            count = chunk.lead_samples[position] if position < len(chunk.lead_samples) else 0
            if count and not _within_one_bucket(chunk, position, count, start, end, size):
                starts.append(chunk.start_sample)
                break
    return starts


def _within_one_bucket(
    chunk: ChunkEnvelope, position: int, count: int, start: int, end: int, size: int
) -> bool:
    first, last = chunk.start_sample, chunk.start_sample + count - 1
    if first < start or last >= end or chunk.lead_min is None or chunk.lead_max is None:
        return False
    if chunk.lead_min[position] is None:
        return False
    return (first - start) // size == (last - start) // size


def extremes(
    envelopes: Sequence[ChunkEnvelope],
    unpacked: Sequence[ArchivedChunk],
    position: int,
    start: int,
    end: int,
    size: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """One lead's minimum and maximum per bucket of ``size`` samples, and which buckets
    have a sample. ``unpacked`` are the chunks ``to_unpack`` named (their samples);
    every other chunk lies within one bucket and has its extremes stored."""
    count = size
    buckets = -(-(end - start) // count)
    low = np.full(buckets, np.iinfo(np.int64).max)
    high = np.full(buckets, np.iinfo(np.int64).min)
    seen = np.zeros(buckets, dtype=bool)
    read = {chunk.start_sample for chunk in unpacked}
    whole = [
        chunk
        for chunk in envelopes
        if chunk.start_sample not in read
        and position < len(chunk.lead_samples)
        and chunk.lead_samples[position]
    ]
    if whole:
        index = np.array([(c.start_sample - start) // count for c in whole])
        np.minimum.at(low, index, np.array([_stored(c.lead_min, position) for c in whole]))
        np.maximum.at(high, index, np.array([_stored(c.lead_max, position) for c in whole]))
        seen[index] = True
    for chunk in unpacked:
        if position >= len(chunk.lead_samples):
            continue
        samples = unpack(chunk.sample_width, chunk.lead_samples, chunk.samples)[position]
        first = max(start, chunk.start_sample)
        last = min(end, chunk.start_sample + samples.size)
        if first >= last:
            continue
        values = samples[first - chunk.start_sample : last - chunk.start_sample]
        # Where each bucket that the piece touches begins, within the piece.
        edges = np.arange((first - start) // count, (last - 1 - start) // count + 1)
        offsets = np.maximum(edges * count + start - first, 0)
        np.minimum.at(low, edges, np.minimum.reduceat(values, offsets))
        np.maximum.at(high, edges, np.maximum.reduceat(values, offsets))
        seen[edges] = True
    return low, high, seen


def _stored(extremes: Sequence[int | None] | None, position: int) -> int:
    value = None if extremes is None else extremes[position]
    assert value is not None, "to_unpack leaves only chunks with their extremes stored"
    return value


def overview_json(
    layout: SignalLayout,
    positions: Sequence[int],
    envelopes: Sequence[ChunkEnvelope],
    unpacked: Sequence[ArchivedChunk],
    start: int,
    end: int,
    buckets: int,
) -> bytes:
    size = bucket_samples(start, end, buckets) if end > start else 1
    leads: list[dict[str, Any]] = []
    for position in positions:
        lead = layout.leads[position]
        if end > start:
            low, high, seen = extremes(envelopes, unpacked, position, start, end, size)
            mins = _or_null(low, seen)
            maxs = _or_null(high, seen)
        else:
            mins, maxs = [], []
        leads.append(
            {
                "name": lead.name,
                "gain": lead.gain,
                "baseline": lead.baseline,
                "min": mins,
                "max": maxs,
            }
        )
    body = {
        "start": start,
        "end": end,
        "bucket_samples": size,
        "sampling_rate": layout.sampling_rate,
        "leads": leads,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _or_null(values: NDArray[np.int64], seen: NDArray[np.bool_]) -> list[int | None]:
    return [v if s else None for v, s in zip(values.tolist(), seen.tolist(), strict=True)]
