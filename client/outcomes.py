"""What a device does with the gateway's answer to a chunk or an end, whichever the
transport (``client.api.HttpChunks``, ``client.websocket.SocketChunks``): ``Acked``
(202), ``RetryLater`` (503 or 429 with ``Retry-After``, a 502/504 from a proxy, or no
answer at all: the same seq is sent again, which the gateway answers without publishing
it twice), ``Gap`` (409 chunk-gap: a chunk is missing, which a correct client never
causes) or ``Refused`` (anything else, with the problem's ``detail``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from client.chunks import Chunk

GAP_TYPE: Final = "/problems/chunk-gap"
RETRYABLE: Final = frozenset({429, 502, 503, 504})


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


class ChunkTransport(Protocol):
    """How one device sends its stream's chunks and its end: ``HttpChunks`` or
    ``client.websocket.SocketChunks``."""

    async def send(self, chunk: Chunk) -> Outcome: ...

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
