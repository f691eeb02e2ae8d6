"""The gateway's HTTP API seen from a user and a device (httpx): log in, open a stream,
send its chunks (JSON, or binary: ``schemas.binary_chunks``) and its end, look the ECG
up. ``ecg simulate`` drives it; ``client.websocket`` sends the same chunks over the
stream WebSocket. Each chunk's answer becomes a ``client.outcomes.Outcome``.
"""

from __future__ import annotations

from typing import Any

import httpx

from client.chunks import Chunk
from client.outcomes import Outcome, RetryLater, classify


class StreamClientError(Exception):
    """A request before the streaming (login, opening, lookup) was refused."""


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _problem(response: httpx.Response) -> str:
    body = _json(response)
    detail = body.get("detail") if isinstance(body, dict) else None
    return f"{response.status_code} {detail or response.reason_phrase}"


class StreamClient:
    """A user's calls: log in, open streams, look ECGs up. One connection pool for all."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._access = ""

    async def log_in(self, email: str, password: str) -> None:
        response = await self._post("/api/v1/auth/login", {"email": email, "password": password})
        if response.status_code != 200:
            raise StreamClientError(f"logging in as {email} failed: {_problem(response)}")
        self._access = response.json()["access_token"]

    async def open_stream(
        self, date: str, sampling_rate: float, leads: list[str]
    ) -> tuple[str, str]:
        """A new stream's ECG id and ingest token."""
        body = {"date": date, "sampling_rate": sampling_rate, "leads": leads}
        response = await self._post("/api/v1/ecg/streams", body, self._access)
        if response.status_code != 201:
            raise StreamClientError(f"opening a stream failed: {_problem(response)}")
        opened = response.json()
        return str(opened["id"]), str(opened["ingest_token"])

    async def lookup(self, ecg_id: str) -> dict[str, Any]:
        response = await self._http.get(f"/api/v1/ecg/{ecg_id}", headers=_bearer(self._access))
        if response.status_code != 200:
            raise StreamClientError(f"looking up ECG {ecg_id} failed: {_problem(response)}")
        body: dict[str, Any] = response.json()
        return body

    def chunks(self, ecg_id: str, ingest_token: str, *, binary: bool = False) -> HttpChunks:
        return HttpChunks(self._http, ecg_id, ingest_token, binary=binary)

    async def _post(self, path: str, body: object, token: str | None = None) -> httpx.Response:
        try:
            return await self._http.post(path, json=body, headers=_bearer(token))
        except httpx.HTTPError as exc:
            raise StreamClientError(
                f"the gateway at {self._http.base_url} failed: {exc!r}"
            ) from exc


class HttpChunks:
    """One stream's chunks as ``POST .../chunks`` with JSON bodies (or, with ``binary``,
    ``application/octet-stream`` ones), sent with its ingest token."""

    def __init__(
        self, http: httpx.AsyncClient, ecg_id: str, ingest_token: str, *, binary: bool = False
    ) -> None:
        self._http = http
        self._path = f"/api/v1/ecg/{ecg_id}"
        self._headers = _bearer(ingest_token)
        self._binary = binary

    async def send(self, chunk: Chunk) -> Outcome:
        if self._binary:
            headers = {**self._headers, "Content-Type": "application/octet-stream"}
            return await self._post("/chunks", content=chunk.binary, headers=headers)
        return await self._post("/chunks", json={"seq": chunk.seq, "signal": chunk.signal.tolist()})

    async def end(self) -> Outcome:
        return await self._post("/end")

    async def close(self) -> None:
        """Nothing to close: the connections are the client's pool."""

    async def _post(self, path: str, **request: Any) -> Outcome:
        request.setdefault("headers", self._headers)
        try:
            response = await self._http.post(self._path + path, **request)
        except httpx.TransportError as exc:
            return RetryLater(f"no answer: {exc!r}")
        return classify(response.status_code, response.headers, _json(response))


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def new_http_client(base_url: str, connections: int) -> httpx.AsyncClient:
    """One pool with a connection per device (and a few for the lookups): a device waits
    for its ack before its next chunk, so it never needs two at once."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=httpx.Timeout(30.0, connect=10.0)
    )
