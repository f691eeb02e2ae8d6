from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from gateway.errors import InvalidInputError
from gateway.stream_bodies import validate_chunk, validate_opening

LEADS = ("I", "aVR")


def fields_of(error: pytest.ExceptionInfo[InvalidInputError]) -> list[str]:
    return [problem.field for problem in error.value.errors]


def test_an_opening_is_read_like_an_upload() -> None:
    opening = validate_opening(
        {
            "id": "0F1C2A4E-8D3B-4E7A-9C10-2B5D7E9F0A13",
            "date": "2024-05-01T12:00:00+02:00",
            "sampling_rate": 360,
            "leads": ["mlii", "V5"],
        }
    )
    assert opening.id == UUID("0f1c2a4e-8d3b-4e7a-9c10-2b5d7e9f0a13")
    assert opening.date.isoformat() == "2024-05-01T10:00:00+00:00"
    assert opening.sampling_rate == 360.0
    assert opening.leads == ("MLII", "V5")


def test_an_opening_without_an_id_gets_one() -> None:
    made = UUID(int=7)
    opening = validate_opening({"date": "2024-05-01", "leads": ["I"]}, new_id=lambda: made)
    assert (opening.id, opening.sampling_rate) == (made, None)


@pytest.mark.parametrize(
    ("document", "fields"),
    [
        ({"leads": ["I"]}, ["date"]),
        ({"date": "2024-05-01"}, ["leads"]),
        ({"date": "2024-05-01", "leads": []}, ["leads"]),
        ({"date": "2024-05-01", "leads": [{"name": "I"}]}, ["leads[0]"]),
        ({"date": "2024-05-01", "leads": ["I", "V"]}, ["leads[1]"]),
        ({"date": "2024-05-01", "leads": ["I", "i"]}, ["leads[1]"]),
        ({"date": "2024-05-01", "leads": ["I"], "sampling_rate": 0}, ["sampling_rate"]),
        ({"date": "2024-05-01", "leads": ["I"], "id": "42"}, ["id"]),
        ({"date": "2024-05-01", "leads": ["I"], "signal": [1]}, ["signal"]),
    ],
)
def test_a_bad_opening_names_its_fields(document: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(InvalidInputError) as error:
        validate_opening(document)
    assert fields_of(error) == fields


def test_a_chunk_has_one_int32_array_per_lead() -> None:
    chunk = validate_chunk({"seq": 3, "signal": [[1, -2, 3], [0, 0, 2**31 - 1]]}, LEADS, 10)
    assert chunk.seq == 3
    assert chunk.number_of_samples == 3
    assert [signal.tolist() for signal in chunk.signals] == [[1, -2, 3], [0, 0, 2**31 - 1]]
    assert all(signal.dtype == "int32" for signal in chunk.signals)


@pytest.mark.parametrize(
    ("document", "fields", "message"),
    [
        ({"signal": [[1], [2]]}, ["seq"], "seq: is required"),
        ({"seq": True, "signal": [[1], [2]]}, ["seq"], "got true"),
        ({"seq": 1.0, "signal": [[1], [2]]}, ["seq"], "got 1.0"),
        ({"seq": -1, "signal": [[1], [2]]}, ["seq"], "got -1"),
        ({"seq": 0}, ["signal"], "one array of samples per lead (I, aVR)"),
        ({"seq": 0, "signal": [1, 2]}, ["signal[0]", "signal[1]"], "expected an array"),
        ({"seq": 0, "signal": [[1, 2]]}, ["signal"], "expected 2 arrays of samples"),
        ({"seq": 0, "signal": [[1], [2], [3]]}, ["signal"], "in the order the stream declared"),
        ({"seq": 0, "signal": [[1, 2], [3]]}, ["signal[1]"], "every lead of a chunk needs"),
        ({"seq": 0, "signal": [[1], [True]]}, ["signal[1][0]"], "expected an integer, got true"),
        ({"seq": 0, "signal": [[1], [-(2**31) - 1]]}, ["signal[1][0]"], "32-bit range"),
        ({"seq": 0, "signal": [[1] * 11, [2] * 11]}, ["signal"], "a chunk takes at most 10"),
        ({"seq": 0, "signal": [[1], [2]], "final": True}, ["final"], "unknown field"),
    ],
)
def test_a_bad_chunk_says_what_to_fix(
    document: dict[str, Any], fields: list[str], message: str
) -> None:
    with pytest.raises(InvalidInputError) as error:
        validate_chunk(document, LEADS, 10)
    assert fields_of(error) == fields
    assert message in str(error.value)
