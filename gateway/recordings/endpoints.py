"""``POST /api/v1/ecg/`` (upload a whole ECG) and ``GET /api/v1/ecg/{ecg_id}``.

Both need a user's access token whose session lives (admins get 403), and leave an
audit row whatever their outcome. An ECG belongs to its uploader: the lookup asks
PostgreSQL for the id *and* the owner, so another user's ECG is the same 404, with
the same body, as an id that does not exist.

The lookup shows the analysis so far. While a stream is open (``status``
``receiving``) or the pipeline works (``processing``), ``windows.count`` is the number
of windows stored so far (``windows.href`` serves them) and ``summary`` is null until
the first window closes, then the totals over the windows closed so far with
``"final": false`` (its ``n_windows`` of them; the leads' ``zero_crossings`` are those
of these windows, while ``number_of_samples`` counts every sample received). It
changes as windows close and becomes the final summary, ``"final": true``, with
``status`` ``done`` once the final summary and all its windows are stored. A stream the
pipeline gave up on stays ``incomplete``.

Past authentication, everything about the request is checked before Kafka or
PostgreSQL is touched.
Bodies of ``OFFLOAD_BYTES`` or more are parsed and validated in a worker thread.
Measured on a 30-minute 2-lead record (7 MB, 1.3 M samples): parsing and checking
take ~130 ms, of which ``json.loads`` holds the GIL for ~90 ms in one piece, so a
thread cannot make parsing concurrent; it does let the event loop run between the
steps, which cut the longest loop stall from ~175 ms to ~110 ms for one upload and
the worst lookup latency during four concurrent uploads from ~500-640 ms to
~280-420 ms. One parse at a time (``PARSERS``): more threads parse no faster under
the GIL, and each big body becomes several times its size in Python objects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.authentication import Authenticator, authorize
from gateway.body import read_body
from gateway.errors import EcgNotFoundError
from gateway.recordings.access import NO_STORE, reading_ecg
from gateway.recordings.bodies import parse_upload
from gateway.recordings.repository import StoredEcg
from gateway.recordings.service import submit
from gateway.recordings.state import RecordingsState
from gateway.settings import Settings
from gateway.uploads import Upload

OFFLOAD_BYTES: Final = 1024 * 1024
PARSERS: Final = 1


class EcgEndpoints:
    def __init__(self, settings: Settings, authenticator: Authenticator) -> None:
        self._settings = settings
        self._authenticator = authenticator
        self._parsers = CapacityLimiter(PARSERS)

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/ecg/", self.upload, methods=["POST"], name="ecg_upload"),
            Route("/api/v1/ecg/{ecg_id}", self.lookup, methods=["GET"], name="ecg"),
        ]

    async def upload(self, request: Request[RecordingsState]) -> Response:
        # Once Kafka has the samples, a lost audit row must not turn the 202 into a 503
        # that the client would retry into a 409; the event goes to the error log.
        claims = self._authenticator.claims(request, "access")
        async with request.state["audit"].trail(request, "ecg.upload", fail_open=True) as trail:
            principal = await self._authenticator.principal(request, claims)
            trail.actor_id = principal.user_id
            authorize(principal, "user")
            body = await read_body(request, self._settings.max_body_bytes)
            upload = await self._parse(body)
            trail.object_id = str(upload.id)
            state = request.state
            await submit(upload, principal.user_id, state["repository"], state["publisher"])
        location = request.app.url_path_for("ecg", ecg_id=str(upload.id))
        return JSONResponse(
            {"id": str(upload.id), "status": "processing"},
            status_code=202,
            headers={"Location": str(location)},
        )

    async def lookup(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.lookup") as (ecg_id, owner):
            stored = await request.state["repository"].get(ecg_id, owner)
            if stored is None:
                raise EcgNotFoundError(ecg_id)
        return JSONResponse(render(stored), headers=NO_STORE)

    async def _parse(self, body: bytearray) -> Upload:
        if len(body) < OFFLOAD_BYTES:
            return parse_upload(body)
        return await anyio.to_thread.run_sync(parse_upload, body, limiter=self._parsers)


def render(ecg: StoredEcg) -> dict[str, Any]:
    base = f"/api/v1/ecg/{ecg.id}"
    return {
        "id": str(ecg.id),
        "date": format_date(ecg.date),
        "status": ecg.status,
        "sampling_rate": ecg.sampling_rate,
        "leads": [
            {
                "name": lead.name,
                "number_of_samples": lead.number_of_samples,
                "zero_crossings": lead.zero_crossings,
                "gain": lead.gain,
                "baseline": lead.baseline,
            }
            for lead in ecg.leads
        ],
        "summary": summary(ecg.summary),
        "windows": {"count": ecg.window_count, "href": f"{base}/windows"},
        "beats": {"href": f"{base}/beats"},
    }


def summary(stored: Any) -> Any:
    """The ECG summary (so far, or final: its ``final`` says which) without what the
    lookup shows at its top level."""
    if stored is None:
        return None
    return {key: value for key, value in stored.items() if key not in SHOWN_ABOVE}


SHOWN_ABOVE: Final = ("ecg_id", "date", "sampling_rate")


def format_date(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2024-05-01T10:00:00Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
