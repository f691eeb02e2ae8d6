"""``GET /api/v1/ecg/{ecg_id}/windows``, ``GET /api/v1/ecg/{ecg_id}/beats`` and
``GET /api/v1/ecg/{ecg_id}/events``.

Like the lookup: a user's access token whose session lives (admins get 403), an audit
row whatever the outcome, and someone else's ECG is the same 404 as an unknown id.

Windows come in pages in index order: ``limit`` (1 to ``MAX_LIMIT``, default
``DEFAULT_LIMIT``) windows with an index above ``after`` (default: from the first),
and a ``next`` link while more follow (keyset pagination: a page stays right while
windows arrive). Beats are the R peaks found so far, as sample indices into the
uploaded signal, ascending, with their AAMI classes (``classes``: one letter per beat,
aligned; ``Q`` for the beats of windows stored before beats were classified);
``status`` says whether the ECG is complete. Events are the
rhythm events found so far (atrial fibrillation, pauses, brady- and tachycardia
episodes), by number, each as its latest report: an episode still going on has no
``end_sample`` yet.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.authentication import Authenticator
from gateway.declarations import Query, QueryInteger
from gateway.errors import EcgNotFoundError
from gateway.recordings.access import NO_STORE, reading_ecg
from gateway.recordings.state import RecordingsState

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200


class AnalysisEndpoints:
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/ecg/{ecg_id}/windows", self.windows, methods=["GET"], name="windows"),
            Route("/api/v1/ecg/{ecg_id}/beats", self.beats, methods=["GET"], name="beats"),
            Route("/api/v1/ecg/{ecg_id}/events", self.events, methods=["GET"], name="events"),
        ]

    async def windows(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.windows") as (ecg_id, owner):
            after, limit = parse_window_query(request)
            page = await request.state["repository"].windows(ecg_id, owner, after, limit)
            if page is None:
                raise EcgNotFoundError(ecg_id)
        following = None
        if page.more:
            path = request.app.url_path_for("windows", ecg_id=str(ecg_id))
            last = page.windows[-1]["index"]
            following = f"{path}?{urlencode({'after': last, 'limit': limit})}"
        body = {"id": str(ecg_id), "windows": page.windows, "next": following}
        return JSONResponse(body, headers=NO_STORE)

    async def beats(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.beats") as (ecg_id, owner):
            stored = await request.state["repository"].beats(ecg_id, owner)
            if stored is None:
                raise EcgNotFoundError(ecg_id)
        body = {
            "sampling_rate": stored.sampling_rate,
            "status": stored.status,
            "sample_indices": stored.sample_indices,
            "classes": stored.classes,
        }
        return JSONResponse(body, headers=NO_STORE)

    async def events(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.events") as (ecg_id, owner):
            stored = await request.state["repository"].events(ecg_id, owner)
            if stored is None:
                raise EcgNotFoundError(ecg_id)
        body = {
            "sampling_rate": stored.sampling_rate,
            "status": stored.status,
            "events": stored.events,
        }
        return JSONResponse(body, headers=NO_STORE)


WINDOW_QUERY: Final = Query(
    (
        QueryInteger(
            "after", -1, 0, 2**31 - 1, "the windows after this index (default: from the first)"
        ),
        QueryInteger("limit", DEFAULT_LIMIT, 1, MAX_LIMIT, "windows per page"),
    )
)
WINDOW_PARAMETERS: Final = WINDOW_QUERY.names


def parse_window_query(request: Request[Any]) -> tuple[int, int]:
    """``(after, limit)`` from the query; every problem is reported in one 422."""
    values = WINDOW_QUERY.check(request.query_params)
    return values["after"], values["limit"]
