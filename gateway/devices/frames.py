"""The messages of the stream WebSocket (``gateway.devices.socket``): what a device
sends, decoded, and what the gateway answers, as JSON-ready dicts. Pure functions.

A device sends a text frame ``{"type": "chunk", "seq": ..., "signal": [...]}`` (the
JSON chunk of ``POST /chunks`` plus ``type``), a binary frame in the chunk format of
``gateway.devices.bodies``, or ``{"type": "end"}``. A chunk's ``seq`` is read before the
chunk is checked, so that even a refused chunk is answered under the seq it claimed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gateway.body import decode_json
from gateway.devices.bodies import StreamChunk, parse_binary_chunk, validate_chunk
from gateway.errors import FieldError, GatewayError, InvalidInputError, describe
from gateway.fields import Findings, check_fields
from gateway.problems import problem_for
from schemas.binary_chunks import MAX_SEQ, read_seq

KINDS: Final = ("chunk", "end")


@dataclass(frozen=True, eq=False)
class ChunkFrame:
    seq: int | None  # as the frame claims it, None when it has none that can be read
    body: Mapping[str, Any] | bytes  # the JSON chunk without its "type", or the bytes


@dataclass(frozen=True)
class EndFrame:
    pass


def decode_frame(frame: str | bytes) -> ChunkFrame | EndFrame:
    """A frame's kind and claimed seq; MalformedBodyError (not a JSON object) or
    InvalidInputError (no known ``type``) for a text frame that is neither."""
    if isinstance(frame, bytes):
        return ChunkFrame(read_seq(frame), frame)
    document = decode_json(frame.encode())
    kind = document.get("type")
    if kind == "end":
        found = Findings()
        check_fields(document, "", ("type",), found)
        found.raise_if_any()
        return EndFrame()
    if kind == "chunk":
        seq = document.get("seq")
        claimed = seq if type(seq) is int and 0 <= seq <= MAX_SEQ else None
        return ChunkFrame(claimed, {k: v for k, v in document.items() if k != "type"})
    got = "is required" if kind is None else f"got {describe(kind)}"
    raise InvalidInputError([FieldError("type", f"{got}: 'chunk' (with seq and signal) or 'end'")])


def read_chunk(frame: ChunkFrame, leads: Sequence[str], max_samples: int) -> StreamChunk:
    """The chunk of a stream of ``leads``, checked as ``POST /chunks`` checks it."""
    if isinstance(frame.body, bytes):
        return parse_binary_chunk(frame.body, leads, max_samples)
    return validate_chunk(frame.body, leads, max_samples)


def frame_limit(frame: str | bytes, text_limit: int, binary_limit: int) -> int | None:
    """The limit that ``frame`` exceeds, if it does: the HTTP body limits of a JSON and a
    binary chunk. A text frame is measured in characters: uvicorn has decoded it, and a
    chunk's JSON is ASCII, where characters are bytes."""
    limit = binary_limit if isinstance(frame, bytes) else text_limit
    return limit if len(frame) > limit else None


def problem_document(error: GatewayError) -> dict[str, Any]:
    """The problem+json body that the HTTP endpoints give for ``error``, built by the
    same function, so that both transports carry one shape."""
    document: dict[str, Any] = json.loads(bytes(problem_for(error, 0).body))
    return document


def ready(next_seq: int) -> dict[str, Any]:
    return {"type": "ready", "next_seq": next_seq}


def ack(seq: int) -> dict[str, Any]:
    return {"type": "ack", "seq": seq}


def ack_text(seq: int) -> str:
    """``as_text(ack(seq))``, written directly: one a chunk."""
    return f'{{"type":"ack","seq":{seq:d}}}'


def as_text(answer: Mapping[str, Any]) -> str:
    """An answer as the JSON text of a frame, as ``WebSocket.send_json`` writes it."""
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False)


def ended(seq: int) -> dict[str, Any]:
    return {"type": "ended", "seq": seq}


def refusal(seq: int | None, error: GatewayError) -> dict[str, Any]:
    return {"type": "error", "seq": seq, "problem": problem_document(error)}


def retry(seq: int | None, retry_after_seconds: int, error: GatewayError) -> dict[str, Any]:
    """Resend from ``seq`` (``None``: the end) after ``retry_after_seconds``."""
    return {
        "type": "retry",
        "seq": seq,
        "retry_after": retry_after_seconds,
        "detail": str(error),
    }
