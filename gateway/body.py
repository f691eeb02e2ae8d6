"""Reading a request body under a size limit, and decoding it as a JSON object.

The declared ``Content-Length`` is checked before anything is read, so an
oversized upload is refused without receiving it; the bytes are counted while
they stream in as well, for chunked bodies and for clients that under-declare.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, NoReturn

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


# A ``\uD800``-``\uDFFF`` escape: half of a UTF-16 surrogate pair. Paired, the two
# escapes are one character (an emoji); alone, Python's decoder gives a string that no
# UTF-8 encoder takes (PostgreSQL, argon2, the JSON response), so such a body is refused.
SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")


def decode_json(body: bytes | bytearray) -> dict[str, Any]:
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise MalformedBodyError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedBodyError(f"expected a JSON object, got {describe(document)}")
    if SURROGATE_ESCAPE.search(body) is not None:
        _reject_lone_surrogates(document)
    if NUL_ESCAPE in body and _holds_nul(document):
        raise MalformedBodyError(
            "the body holds a NUL character (\\u0000) in a string; no field takes one"
        )
    return document


# JSON writes NUL only escaped. No field of the API takes one, and PostgreSQL's text
# cannot hold one: refused before anything is stored (an email, an audit row).
NUL_ESCAPE: Final = b"\\u0000"


def _holds_nul(document: Any) -> bool:
    """Whether a string or key of the document holds NUL; only for the rare body with
    the escape (or a literal backslash-u0000, which this walk tells apart)."""
    pending: list[Any] = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _reject_lone_surrogates(document: dict[str, Any]) -> None:
    """Only for the rare body with a surrogate escape: re-encoding the document (at C
    speed) finds whether any string or key holds a surrogate without its pair."""
    try:
        json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise MalformedBodyError(
            "the body is not valid JSON text: a \\uD800-\\uDFFF escape without its pair "
            "(a lone UTF-16 surrogate) is not a character; send text as UTF-8 or as "
            "complete surrogate pairs"
        ) from None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")
