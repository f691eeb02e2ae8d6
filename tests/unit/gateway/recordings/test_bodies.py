from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import numpy as np
import pytest

from gateway.errors import InvalidInputError, MalformedBodyError
from gateway.fields import parse_uuid
from gateway.recordings.bodies import parse_upload, validate_upload

Body = Callable[..., dict[str, Any]]


def test_valid_body(body: Body) -> None:
    upload = validate_upload(body(id="123E4567-E89B-12D3-A456-426614174000"))
    assert upload.id == UUID("123e4567-e89b-12d3-a456-426614174000")
    assert upload.date == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert upload.sampling_rate == 500.0
    assert [lead.name for lead in upload.leads] == ["I", "II"]
    first, second = upload.leads
    assert first.signal.tolist() == [12, -3, 0, 7]
    assert first.signal.dtype == np.int32
    assert (first.gain, first.baseline, first.number_of_samples) == (200.0, None, 4)
    assert (second.gain, second.baseline, second.number_of_samples) == (None, 1024, 3)


def test_id_is_generated_when_absent(body: Body) -> None:
    generated = UUID("00000000-0000-4000-8000-000000000001")
    assert validate_upload(body(), new_id=lambda: generated).id == generated
    assert validate_upload(body()).id.version == 4
    assert validate_upload(body(id=None)).id.version == 4


def test_lead_names_are_canonical(body: Body) -> None:
    leads = [{"name": "avr", "signal": [1]}, {"name": "MLII", "signal": [2]}]
    upload = validate_upload(body(leads=leads))
    assert [lead.name for lead in upload.leads] == ["aVR", "MLII"]


def test_ragged_leads_are_allowed(body: Body) -> None:
    leads = [{"name": "I", "signal": list(range(10))}, {"name": "II", "signal": [1]}]
    upload = validate_upload(body(leads=leads))
    assert [lead.number_of_samples for lead in upload.leads] == [10, 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00.250Z", datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_dates_are_utc_and_naive_means_utc(body: Body, text: str, expected: datetime) -> None:
    upload = validate_upload(body(date=text))
    assert upload.date == expected
    assert upload.date.utcoffset() is not None


def test_null_optional_fields_mean_absent(body: Body) -> None:
    leads = [
        {"name": "I", "signal": [1], "gain": None, "baseline": None, "number_of_samples": None}
    ]
    upload = validate_upload(body(sampling_rate=None, leads=leads))
    assert upload.sampling_rate is None
    assert (upload.leads[0].gain, upload.leads[0].baseline) == (None, None)


def test_sampling_rate_bounds(body: Body) -> None:
    assert validate_upload(body(sampling_rate=100_000)).sampling_rate == 100_000.0
    assert validate_upload(body(sampling_rate=50)).sampling_rate == 50.0
    with pytest.raises(InvalidInputError):
        validate_upload(body(sampling_rate=100_000.5))


@pytest.mark.parametrize("rate", [0.1, 0.5, 49.9])
def test_a_rate_below_the_floor_is_refused_before_it_costs_a_window_per_sample(
    body: Body, rate: float
) -> None:
    """0.1 Hz made a 171 KB upload 20,000 windows and 19 s of worker time."""
    with pytest.raises(InvalidInputError, match="at least 50"):
        validate_upload(body(sampling_rate=rate))


def test_more_leads_than_lead_names_are_refused_before_any_is_checked(body: Body) -> None:
    """A million lead objects cost 8.3 s of CPU and 582 MiB: refused unread now."""
    leads = [{"name": "I", "signal": "not samples"}] * 1_000_000
    with pytest.raises(InvalidInputError) as refused:
        validate_upload(body(leads=leads))
    assert [str(e) for e in refused.value.errors] == [
        "leads: has 1000000 leads; at most 25 are accepted, one per lead name"
    ]


def test_parse_upload_reads_bytes(body: Body) -> None:
    upload = parse_upload(bytearray(json.dumps(body()).encode()))
    assert upload.leads[0].signal.tolist() == [12, -3, 0, 7]


def test_invalid_input_carries_every_error(body: Body) -> None:
    with pytest.raises(InvalidInputError) as raised:
        validate_upload(body(date="yesterday", sampling_rate=-1))
    assert [error.field for error in raised.value.errors] == ["date", "sampling_rate"]


@pytest.mark.parametrize("content", [b"[1]", b"{", b'{"x": Infinity}'])
def test_malformed_body(content: bytes) -> None:
    with pytest.raises(MalformedBodyError):
        parse_upload(content)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("123e4567-e89b-12d3-a456-426614174000", True),
        ("123E4567-E89B-12D3-A456-426614174000", True),
        ("123e4567e89b12d3a456426614174000", False),
        ("{123e4567-e89b-12d3-a456-426614174000}", False),
        ("urn:uuid:123e4567-e89b-12d3-a456-426614174000", False),
        ("123e4567-e89b-12d3-a456-42661417400", False),
        ("123e4567-e89b-12d3-a456-4266141740000", False),
        (" 123e4567-e89b-12d3-a456-426614174000", False),
        ("", False),
    ],
)
def test_parse_uuid(text: str, valid: bool) -> None:
    assert (parse_uuid(text) is not None) is valid
