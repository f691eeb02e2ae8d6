"""The media types a stream chunk may come as (the endpoints themselves are tested over
HTTP in tests/e2e/test_streams.py and tests/e2e/test_stream_binary.py)."""

from __future__ import annotations

import pytest

from gateway.devices.endpoints import chunk_media_type
from gateway.errors import UnsupportedMediaTypeError


@pytest.mark.parametrize(
    ("content_type", "media_type"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("application/octet-stream", "application/octet-stream"),
        (" application/octet-stream ;x=1", "application/octet-stream"),
    ],
)
def test_a_chunk_is_json_unless_it_says_it_is_bytes(
    content_type: str | None, media_type: str
) -> None:
    assert chunk_media_type(content_type) == media_type


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_any_other_media_type_is_refused_with_the_accepted_ones(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as error:
        chunk_media_type(content_type)
    assert str(error.value) == (
        f"Content-Type {content_type!r} is not accepted here; "
        "send the body as application/json or application/octet-stream"
    )
    assert error.value.accepted == ("application/json", "application/octet-stream")
