from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import httpx
import pytest

from gateway.problems import PROBLEM_JSON
from gateway.recordings.endpoints import format_date, render
from gateway.recordings.repository import StoredEcg, StoredLead


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/ecg/"),
        ("GET", "/api/v1/ecg/123e4567-e89b-12d3-a456-426614174000"),
        ("GET", "/api/v1/ecg/123e4567-e89b-12d3-a456-426614174000/windows?limit=x"),
        ("GET", "/api/v1/ecg/123e4567-e89b-12d3-a456-426614174000/beats"),
    ],
)
@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, None),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer", "invalid_token"),
        ("Bearer not.a.jwt", "invalid_token"),
        ("Bearer " + "a" * 5000, "invalid_token"),
    ],
)
async def test_no_valid_token_is_401_before_anything_else(
    client: httpx.AsyncClient, method: str, path: str, authorization: str | None, error: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.request(method, path, headers=headers, content=b"not even JSON")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="ecg-pipeline"')
    assert ('error="invalid_token"' in challenge) is (error is not None)


async def test_nested_path_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/ecg/123e4567-e89b-12d3-a456-426614174000/extra")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2024, 5, 1, 10, tzinfo=UTC), "2024-05-01T10:00:00Z"),
        (datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T10:00:00Z"),
        (datetime(2024, 5, 1, 10, 0, 0, 1500, tzinfo=UTC), "2024-05-01T10:00:00.001500Z"),
    ],
)
def test_format_date(value: datetime, text: str) -> None:
    assert format_date(value) == text


def test_render() -> None:
    stored = StoredEcg(
        id=UUID("123e4567-e89b-12d3-a456-426614174000"),
        date=datetime(2024, 5, 1, 10, tzinfo=UTC),
        status="done",
        sampling_rate=500.0,
        leads=(
            StoredLead("I", 5000, 42, 200.0, 1024),
            StoredLead("aVR", 4000, None, None, None),
        ),
        summary={"ecg_id": "…", "date": "…", "sampling_rate": 500.0, "n_windows": 3},
        window_count=3,
    )
    assert render(stored) == {
        "id": "123e4567-e89b-12d3-a456-426614174000",
        "date": "2024-05-01T10:00:00Z",
        "status": "done",
        "sampling_rate": 500.0,
        "leads": [
            {
                "name": "I",
                "number_of_samples": 5000,
                "zero_crossings": 42,
                "gain": 200.0,
                "baseline": 1024,
            },
            {
                "name": "aVR",
                "number_of_samples": 4000,
                "zero_crossings": None,
                "gain": None,
                "baseline": None,
            },
        ],
        "summary": {"n_windows": 3},
        "windows": {"count": 3, "href": "/api/v1/ecg/123e4567-e89b-12d3-a456-426614174000/windows"},
        "beats": {"href": "/api/v1/ecg/123e4567-e89b-12d3-a456-426614174000/beats"},
    }
