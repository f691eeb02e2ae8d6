"""``GET /api/v1/ecg/{ecg_id}/signal?leads=&start=&end=``: a range of an ECG's samples,
read back from the sample archive (``ecg_samples``, migration 0010).

Like the lookup: a user's access token whose session lives (admins get 403), an audit
row whatever the outcome, and someone else's ECG is the same 404 as an unknown id.

``start`` and ``end`` are sample indices, ``end`` exclusive (default: from 0 to the
longest requested lead's stored length); ``leads`` names the leads in the order wanted
(default: all, in the ECG's order). One answer holds at most ``MAX_SIGNAL_VALUES``
samples x leads. As JSON (the default), ``{start, end, sampling_rate, leads: [{name,
gain, baseline, signal}]}``, each lead's ``signal`` from ``start`` to its own end within
the range (an upload's leads may differ in length) and ``end`` the end served; with
``Accept: application/octet-stream``, one binary chunk (``schemas.binary_chunks``) whose
``seq`` is ``start``, the leads interleaved, described by ``X-ECG-*`` headers. Samples
whose chunk is not stored (yet) are not served: a lead stops before them
(``gateway.recordings.ranges``), so a stream that the worker has not archived to its
end answers fewer samples than it has.

Reading the chunks and writing the answer (~40 ms of zstd and numpy, then 0.2-0.4 s of
JSON for the largest, 12 MB) run in a worker thread, the JSON a block of samples at a
time, so that the event loop keeps serving between the blocks (one ``json.dumps`` of
2 M samples would hold the GIL throughout); ``ENCODERS`` at a time bound their memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import anyio.to_thread
import numpy as np
from anyio import CapacityLimiter
from numpy.typing import NDArray
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.authentication import Authenticator
from gateway.declarations import Query, QueryInteger, QueryLeadNames
from gateway.errors import EcgNotFoundError, FieldError, InvalidInputError, NotAcceptableError
from gateway.recordings.access import NO_STORE, reading_ecg
from gateway.recordings.ranges import (
    range_end,
    read_signals,
    require_equal_lengths,
    select_leads,
    served_end,
)
from gateway.recordings.repository import ArchivedChunk, ArchivedLead, SignalLayout
from gateway.recordings.state import RecordingsState
from schemas.binary_chunks import encode_binary_chunk

JSON: Final = "application/json"
BINARY: Final = "application/octet-stream"
OFFERED: Final = (JSON, BINARY)  # in order of preference when Accept ranks them alike
MAX_SAMPLE_INDEX: Final = 2**39  # 35 years at 500 Hz
ENCODERS: Final = 2
BLOCK: Final = 16_384  # samples encoded at a time: ~2 ms holding the GIL


@dataclass(frozen=True)
class SignalQuery:
    leads: tuple[str, ...] | None
    start: int
    end: int | None


class SignalEndpoints:
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator
        self._encoders = CapacityLimiter(ENCODERS)

    @property
    def routes(self) -> list[Route]:
        return [Route("/api/v1/ecg/{ecg_id}/signal", self.signal, methods=["GET"], name="signal")]

    async def signal(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.signal") as (ecg_id, owner):
            query = parse_signal_query(request)
            media_type = negotiate(request.headers.get("accept"))
            repository = request.state["repository"]
            layout = await repository.signal_layout(ecg_id, owner)
            if layout is None:
                raise EcgNotFoundError(ecg_id)
            positions = select_leads(query.leads, layout.leads)
            end = range_end(query.start, query.end, [layout.leads[p].stored for p in positions])
            chunks: list[ArchivedChunk] = []
            if end > query.start:
                chunks = await repository.sample_chunks(ecg_id, owner, query.start, end)
            return await anyio.to_thread.run_sync(
                answer,
                layout,
                positions,
                chunks,
                query.start,
                end,
                media_type,
                limiter=self._encoders,
            )


SIGNAL_QUERY: Final = Query(
    (
        QueryLeadNames(
            "leads", "the leads to read, in this order (default: all, in the ECG's order)"
        ),
        QueryInteger("start", 0, 0, MAX_SAMPLE_INDEX, "the first sample index (default 0)"),
        QueryInteger(
            "end",
            -1,
            1,
            MAX_SAMPLE_INDEX,
            "the sample index after the last (default: the longest lead's stored length)",
        ),
    )
)


def parse_signal_query(request: Request[Any]) -> SignalQuery:
    """The leads and the range of the query; every problem is reported in one 422."""
    values = SIGNAL_QUERY.check(request.query_params)
    start, end = values["start"], values["end"]
    if end != -1 and end <= start:
        raise InvalidInputError(
            [FieldError("end", f"must be greater than start ({start}), got {end}")]
        )
    return SignalQuery(values["leads"], start, None if end == -1 else end)


def negotiate(accept: str | None, offered: Sequence[str] = OFFERED) -> str:
    """The media type of ``offered`` that ``Accept`` ranks highest (RFC 9110, section
    12.5.1: each offer takes the quality of the most specific range that matches it);
    the first offer without ``Accept`` (or with none well-formed), and on a tie;
    NotAcceptableError when it allows none."""
    qualities = {offer: (-1, 0.0) for offer in offered}  # (specificity, quality)
    ranges = 0
    for media_range in (accept or "").split(","):
        kind, *parameters = (part.strip().lower() for part in media_range.split(";"))
        quality = _quality(parameters)
        if quality is None or kind.count("/") != 1:
            continue  # malformed: ignored
        ranges += 1
        for offer in offered:
            specificity = _specificity(kind, offer)
            if specificity > qualities[offer][0]:
                qualities[offer] = (specificity, quality)
    if not ranges:
        return offered[0]
    best = max(offered, key=lambda offer: qualities[offer][1])
    if qualities[best][1] <= 0:
        raise NotAcceptableError(accept or "", offered)
    return best


def _quality(parameters: Sequence[str]) -> float | None:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            return quality if 0 <= quality <= 1 else None
    return 1.0


def _specificity(media_range: str, offer: str) -> int:
    """2 for the offer itself, 1 for its type's ``type/*``, 0 for ``*/*``, -1 otherwise."""
    if media_range == offer:
        return 2
    if media_range == offer.split("/")[0] + "/*":
        return 1
    return 0 if media_range == "*/*" else -1


def answer(
    layout: SignalLayout,
    positions: Sequence[int],
    chunks: Sequence[ArchivedChunk],
    start: int,
    end: int,
    media_type: str,
) -> Response:
    """The answer of samples ``[start, end)`` of the leads at ``positions``, as JSON or
    as a binary chunk; runs in a worker thread."""
    leads = [layout.leads[p] for p in positions]
    signals = read_signals(chunks, positions, start, end)
    headers = dict(NO_STORE)
    if media_type == BINARY:
        return binary_answer(layout.sampling_rate, leads, start, signals, headers)
    content = signal_json(layout.sampling_rate, leads, start, signals)
    return Response(content, media_type=JSON, headers=headers)


def signal_json(
    sampling_rate: float | None,
    leads: Sequence[ArchivedLead],
    start: int,
    signals: Sequence[NDArray[np.int32]],
) -> bytes:
    """``{start, end, sampling_rate, leads: [{name, gain, baseline, signal}]}``, each
    signal written a block of samples at a time (a thread holds the GIL for one block)."""
    head = json.dumps(
        {"start": start, "end": served_end(start, signals), "sampling_rate": sampling_rate}
    )
    parts = [head[:-1], ', "leads": [']
    for index, (lead, signal) in enumerate(zip(leads, signals, strict=True)):
        described = json.dumps({"name": lead.name, "gain": lead.gain, "baseline": lead.baseline})
        parts += [", " if index else "", described[:-1], ', "signal": [']
        parts.append(
            ",".join(
                json.dumps(signal[i : i + BLOCK].tolist())[1:-1]
                for i in range(0, signal.size, BLOCK)
            )
        )
        parts.append("]}")
    parts.append("]}")
    return "".join(parts).encode()


def binary_answer(
    sampling_rate: float | None,
    leads: Sequence[ArchivedLead],
    start: int,
    signals: Sequence[NDArray[np.int32]],
    headers: dict[str, str],
) -> Response:
    """One binary chunk, ``seq`` = ``start``, the leads interleaved in their order; a
    422 when they do not all reach the same sample."""
    names = [lead.name for lead in leads]
    require_equal_lengths(start, names, signals)
    headers |= {
        "X-ECG-Leads": ",".join(names),
        "X-ECG-Start": str(start),
        "X-ECG-End": str(served_end(start, signals)),
    }
    if sampling_rate is not None:
        rate = int(sampling_rate) if sampling_rate.is_integer() else sampling_rate
        headers["X-ECG-Sampling-Rate"] = str(rate)
    content = encode_binary_chunk(start, np.stack(signals))
    return Response(content, media_type=BINARY, headers=headers)
