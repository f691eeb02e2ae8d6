"""The stream API seen from a device, over HTTP (httpx): log in, open a stream, send its
chunks (JSON, or binary in the format of ``gateway.stream_bodies``) and its end, look the
ECG up. ``ecg simulate`` drives it; ``gateway.socket_client`` sends the same chunks over
the stream WebSocket.

A chunk's answer becomes an ``Outcome`` that the caller acts on: ``Acked`` (202),
``RetryLater`` (503 or 429 with ``Retry-After``, a 502/504 from a proxy, or no answer
at all: the same seq is sent again, which the gateway answers without publishing it
twice), ``Gap`` (409 chunk-gap: a chunk is missing, which a correct client never
causes) or ``Refused`` (anything else, with the problem's ``detail``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import httpx
import numpy as np

from gateway.devices.bodies import BINARY_DTYPES, BINARY_HEADER, BINARY_MAGIC, BINARY_VERSION

GAP_TYPE: Final = "/problems/chunk-gap"
RETRYABLE: Final = frozenset({429, 502, 503, 504})
INT16: Final = np.iinfo(np.int16)


@dataclass(frozen=True)
class Acked:
    pass


@dataclass(frozen=True)
class RetryLater:
    reason: str
    seconds: float | None = None  # the server's Retry-After, when it gave one


@dataclass(frozen=True)
class Gap:
    expected_seq: int


@dataclass(frozen=True)
class Refused:
    reason: str


Outcome = Acked | RetryLater | Gap | Refused


class StreamClientError(Exception):
    """A request before the streaming (login, opening, lookup) was refused."""


class ChunkTransport(Protocol):
    """How one device sends its stream's chunks and its end: ``HttpChunks`` or
    ``gateway.socket_client.SocketChunks``."""

    async def send(self, seq: int, signal: list[list[int]]) -> Outcome: ...

    async def end(self) -> Outcome: ...


def classify(status: int, headers: Mapping[str, str], body: Any) -> Outcome:
    """What a device does with the answer ``status`` to a chunk or an end."""
    if status in (200, 202):
        return Acked()
    problem = body if isinstance(body, dict) else {}
    detail = str(problem.get("detail") or problem.get("title") or "")
    if status in RETRYABLE:
        return RetryLater(f"{status} {detail}".strip(), _retry_after(headers.get("retry-after")))
    if status == 409 and problem.get("type") == GAP_TYPE:
        return Gap(int(problem.get("expected_seq", -1)))
    return Refused(f"{status} {detail}".strip())


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by the gateway)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


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

    async def send(self, seq: int, signal: list[list[int]]) -> Outcome:
        if self._binary:
            headers = {**self._headers, "Content-Type": "application/octet-stream"}
            return await self._post("/chunks", content=binary_chunk(seq, signal), headers=headers)
        return await self._post("/chunks", json={"seq": seq, "signal": signal})

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


def binary_chunk(seq: int, signal: list[list[int]]) -> bytes:
    """Chunk ``seq`` in the binary format of ``gateway.stream_bodies``: int16 samples
    when every one fits, else int32, interleaved by sample."""
    samples = np.asarray(signal, dtype=np.int32)
    fits = samples.size == 0 or (INT16.min <= samples.min() and samples.max() <= INT16.max)
    width = 2 if fits else 4
    header = BINARY_HEADER.pack(BINARY_MAGIC, BINARY_VERSION, width, seq)
    return header + samples.T.astype(BINARY_DTYPES[width]).tobytes()


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def new_http_client(base_url: str, connections: int) -> httpx.AsyncClient:
    """One pool with a connection per device (and a few for the lookups): a device waits
    for its ack before its next chunk, so it never needs two at once."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=httpx.Timeout(30.0, connect=10.0)
    )
