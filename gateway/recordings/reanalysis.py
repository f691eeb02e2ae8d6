"""``POST /api/v1/ecg/{ecg_id}/analyses``: analyse an ECG again from its stored samples
(e.g. after a detector upgrade); ``GET /api/v1/ecg/{ecg_id}/analyses``: the ECG's
analyses, the one in force and every re-analysis asked for.

Like every ECG endpoint: a user's access token whose session lives (admins get 403), an
audit row whatever the outcome, and someone else's ECG is the same 404 as an unknown id.

An ECG can be analysed again once its analysis is done (409 before). The request gets
the ECG's next revision (1, 2, ...) and a row in ``ecg_analyses`` (migration 0012),
committed *before* the request is published on ``ecg.analysis-requests.v1``, so that the
worker that takes it finds its row; if Kafka does not acknowledge it the row is removed
and the answer is 503, which the client retries. The 202 comes once Kafka has the
request. A worker (``streams.reanalysis``) replays the stored samples and replaces the
ECG's windows and summary in one transaction: the lookup, windows and beats show the
old results until then, and the new ones, with the new ``revision`` and
``analyser_version``, after. Asking again before a request is done is allowed: the later
revision wins, the earlier one is marked superseded if it was not done yet.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.authentication import Authenticator
from gateway.database import Database
from gateway.errors import EcgNotFoundError, NotAnalysedYetError
from gateway.recordings.access import NO_STORE, reading_ecg
from gateway.recordings.endpoints import format_date
from gateway.recordings.repository import STATUS
from gateway.recordings.state import RecordingsState
from gateway.settings import Settings
from schemas.codec import Schema, encode

log = logging.getLogger(__name__)

# The ECG's status as the lookup gives it, its row locked so that two requests of the
# same ECG take revisions one after the other.
_ECG = f"""
SELECT {STATUS},
       greatest(coalesce(s.revision, 0),
                (SELECT coalesce(max(revision), 0) FROM ecg_analyses WHERE ecg_id = e.id))
           AS revision
FROM ecgs e LEFT JOIN ecg_summaries s ON s.ecg_id = e.id,
     LATERAL (SELECT count(*) FROM ecg_windows WHERE ecg_id = e.id) AS counted
WHERE e.id = $1 AND e.owner_id = $2
FOR UPDATE OF e
"""  # noqa: S608 (STATUS is a constant of gateway.recordings.repository)

_ANALYSES = """
SELECT revision, requested_at, finished_at, analyser_version, error
FROM ecg_analyses WHERE ecg_id = $1 ORDER BY revision DESC LIMIT $2
"""
MAX_LISTED: Final = 100  # the latest re-analyses of an ECG listed


class ReanalysisEndpoints:
    def __init__(self, settings: Settings, authenticator: Authenticator) -> None:
        self._topic = settings.analysis_requests_topic
        self._authenticator = authenticator

    @property
    def routes(self) -> list[Route]:
        return [
            Route(
                "/api/v1/ecg/{ecg_id}/analyses",
                self.request_analysis,
                methods=["POST"],
                name="analysis_request",
            ),
            Route("/api/v1/ecg/{ecg_id}/analyses", self.analyses, methods=["GET"], name="analyses"),
        ]

    async def request_analysis(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.reanalyse") as (ecg_id, owner):
            state = request.state
            state["publisher"].ensure_connected()
            revision, requested_at = await _record(state["database"], ecg_id, owner)
            message = encode(
                Schema.ANALYSIS_REQUEST,
                {"ecg_id": ecg_id, "revision": revision, "requested_at": requested_at},
            )
            try:
                await state["publisher"].send(ecg_id, [message], self._topic)
            except BaseException:
                await _take_back(state["database"], ecg_id, revision)
                raise
        location = request.app.url_path_for("analyses", ecg_id=str(ecg_id))
        return JSONResponse(
            {
                "id": str(ecg_id),
                "revision": revision,
                "status": "requested",
                "requested_at": format_date(requested_at),
            },
            status_code=202,
            headers={"Location": str(location)},
        )

    async def analyses(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.analyses") as (ecg_id, owner):
            found = await _analyses(request.state["database"], ecg_id, owner)
            if found is None:
                raise EcgNotFoundError(ecg_id)
        current, rows = found
        summary = current["result"] or {}
        body = {
            "id": str(ecg_id),
            "current": None
            if current["revision"] is None
            else {
                "revision": current["revision"],
                "analyser_version": summary.get("analyser_version") or None,
                "final": bool(summary.get("final", True)),
            },
            "analyses": [analysis(row) for row in rows],
        }
        return JSONResponse(body, headers=NO_STORE)


async def _analyses(database: Database, ecg_id: UUID, owner: UUID) -> tuple[Any, list[Any]] | None:
    """The ECG's summary (its result and revision) and its latest re-analyses, if the
    ECG exists and belongs to ``owner``."""
    async with (
        database.connection() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        current = await connection.fetchrow(
            """
            SELECT s.result, s.revision FROM ecgs e
            LEFT JOIN ecg_summaries s ON s.ecg_id = e.id
            WHERE e.id = $1 AND e.owner_id = $2
            """,
            ecg_id,
            owner,
        )
        if current is None:
            return None
        return current, list(await connection.fetch(_ANALYSES, ecg_id, MAX_LISTED))


def analysis(row: Any) -> dict[str, Any]:
    status = "failed" if row["error"] else "done" if row["finished_at"] else "requested"
    return {
        "revision": row["revision"],
        "status": status,
        "requested_at": format_date(row["requested_at"]),
        "finished_at": None if row["finished_at"] is None else format_date(row["finished_at"]),
        "analyser_version": row["analyser_version"],
        "error": row["error"],
    }


async def _record(database: Database, ecg_id: UUID, owner: UUID) -> tuple[int, datetime]:
    """The next revision of the ECG, recorded as asked for; 404 and 409 as the module
    says."""
    async with database.transaction() as connection:
        row = await connection.fetchrow(_ECG, ecg_id, owner)
        if row is None:
            raise EcgNotFoundError(ecg_id)
        if row["status"] != "done":
            raise NotAnalysedYetError(ecg_id, row["status"])
        revision = int(row["revision"]) + 1
        requested_at: datetime = await connection.fetchval(
            """
            INSERT INTO ecg_analyses (ecg_id, revision, requested_by) VALUES ($1, $2, $3)
            RETURNING requested_at
            """,
            ecg_id,
            revision,
            owner,
        )
    return revision, requested_at.astimezone(UTC)


async def _take_back(database: Database, ecg_id: UUID, revision: int) -> None:
    """Remove the request's row after Kafka did not take it (the client retries)."""
    try:
        async with database.connection() as connection:
            await connection.execute(
                "DELETE FROM ecg_analyses WHERE ecg_id = $1 AND revision = $2 "
                "AND finished_at IS NULL",
                ecg_id,
                revision,
            )
    except Exception:
        log.exception("could not take back analysis request %d of ECG %s", revision, ecg_id)
