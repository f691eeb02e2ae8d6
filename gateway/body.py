"""Reading a request body under a size limit, and decoding it as a JSON object.

The declared ``Content-Length`` is checked before anything is read, so an
oversized upload is refused without receiving it; the bytes are counted while
they stream in as well, for chunked bodies and for clients that under-declare.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from starlette.requests import ClientDisconnect, Request

from gateway.errors import BodyTooLargeError, MalformedBodyError, describe


async def read_body(request: Request[Any], limit: int) -> bytearray:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise MalformedBodyError(f"Content-Length is not a number: {declared[:40]!r}") from None
        if length > limit:
            raise BodyTooLargeError(limit)
    body = bytearray()
    try:
        async for piece in request.stream():
            body += piece
            if len(body) > limit:
                raise BodyTooLargeError(limit)
    except ClientDisconnect:
        raise MalformedBodyError(
            "the client closed the connection before sending the whole body"
        ) from None
    return body


def decode_json(body: bytes | bytearray) -> dict[str, Any]:
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise MalformedBodyError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedBodyError(f"expected a JSON object, got {describe(document)}")
    return document


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")
