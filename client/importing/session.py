"""The import's requests to the gateway, as one user: every request is retried while
the pipeline cannot take it, and made again after a new login when the access token
expired on the way.

- **Retried**: no answer (connection refused or lost, a timeout) and ``429``, ``502``,
  ``503``, ``504``, after ``Retry-After`` when the gateway gives one, else 0.25 s
  doubling to 5 s (``client.report.retry_delay``, as ``ecg simulate``'s devices), for
  up to ``RETRY_SECONDS``. Each retry is safe: an upload and a stream's opening carry
  the id the client chose, so a copy of one that got through is a ``409`` (the caller
  checks that the ECG is there), and a chunk sent again under its seq is acknowledged
  without being taken twice.
- **Logged in again**: a ``401`` to a request made with the access token (which lives
  15 minutes by default) logs in again, once, and repeats the request.

Everything else is the caller's to read (``Answer``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx

from client.outcomes import RETRYABLE
from client.report import retry_delay

RETRY_SECONDS: Final = 120.0


class GatewayError(Exception):
    """The gateway refused a request, or did not answer for ``RETRY_SECONDS``."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the JSON body; None when there is none

    @property
    def problem(self) -> str:
        """The problem's detail, for a message."""
        body = self.body if isinstance(self.body, dict) else {}
        return f"{self.status} {body.get('detail') or body.get('title') or ''}".strip()

    @property
    def problem_type(self) -> str:
        return str(self.body.get("type", "")) if isinstance(self.body, dict) else ""


class Session:
    def __init__(
        self,
        http: httpx.AsyncClient,
        email: str,
        password: str,
        *,
        retry_seconds: float = RETRY_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._email = email
        self._password = password
        self._retry_seconds = retry_seconds
        self._sleep = sleep
        self._access = ""

    async def log_in(self) -> None:
        answer = await self._retrying(
            "POST",
            "/api/v1/auth/login",
            {"json": {"email": self._email, "password": self._password}},
        )
        if answer.status != 200:
            raise GatewayError(f"logging in as {self._email} failed: {answer.problem}")
        self._access = str(answer.body["access_token"])

    async def request(
        self, method: str, path: str, *, token: str | None = None, **request: Any
    ) -> Answer:
        """``method path`` with ``token`` (by default the access token) until the
        gateway can take it; a 401 to the access token logs in again once."""
        headers = dict(request.pop("headers", {}))
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {token or self._access}"
            answer = await self._retrying(method, path, {**request, "headers": headers})
            if answer.status != 401 or token is not None or attempt == 2:
                return answer
            await self.log_in()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _retrying(self, method: str, path: str, request: dict[str, Any]) -> Answer:
        loop = asyncio.get_running_loop()
        began = loop.time()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(method, path, **request)
            except httpx.TransportError as exc:
                reason, wait = f"no answer from {self._http.base_url}: {exc!r}", None
            else:
                if response.status_code not in RETRYABLE:
                    return Answer(response.status_code, _json(response))
                reason = Answer(response.status_code, _json(response)).problem
                wait = _seconds(response.headers.get("retry-after"))
            if loop.time() - began > self._retry_seconds:
                raise GatewayError(f"{method} {path}: gave up after {attempt} attempts: {reason}")
            await self._sleep(retry_delay(attempt, wait))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
