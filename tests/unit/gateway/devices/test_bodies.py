from __future__ import annotations

import struct
from typing import Any
from uuid import UUID

import numpy as np
import pytest

from gateway.devices.bodies import parse_binary_chunk, validate_chunk, validate_opening
from gateway.errors import InvalidInputError
from tests.binary_chunks import binary_chunk

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


def test_an_openings_leads_may_carry_their_gain_and_baseline() -> None:
    opening = validate_opening(
        {
            "date": "2024-05-01",
            "leads": [{"name": "mlii", "gain": 200, "baseline": 1024}, "V5", {"name": "V1"}],
        }
    )
    assert opening.leads == ("MLII", "V5", "V1")
    assert opening.gains == (200.0, None, None)
    assert opening.baselines == (1024, None, None)


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
        ({"date": "2024-05-01", "leads": [5]}, ["leads[0]"]),
        ({"date": "2024-05-01", "leads": [{"name": "I", "gain": 0}]}, ["leads[0].gain"]),
        ({"date": "2024-05-01", "leads": [{"gain": 200}]}, ["leads[0].name"]),
        ({"date": "2024-05-01", "leads": [{"name": "I", "baseline": 0.5}]}, ["leads[0].baseline"]),
        ({"date": "2024-05-01", "leads": ["I", {"name": "i"}]}, ["leads[1]"]),
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


@pytest.mark.parametrize(
    ("width", "signal"),
    [
        (2, [[1, -2, 3, 2**15 - 1, -(2**15)], [0, 0, -1, 7, 300]]),
        (4, [[1, -2, 3, 2**31 - 1, -(2**31)], [0, 2**15, -1, 7, -(2**20)]]),
    ],
)
def test_a_binary_chunk_gives_what_its_json_gives(width: int, signal: list[list[int]]) -> None:
    binary = parse_binary_chunk(binary_chunk(5, signal, width), LEADS, 10)
    json = validate_chunk({"seq": 5, "signal": signal}, LEADS, 10)
    assert binary.seq == json.seq == 5
    assert binary.number_of_samples == json.number_of_samples == 5
    assert binary.samples.dtype == f"int{8 * width}"
    assert json.samples.dtype == np.int32
    for got, expected in zip(binary.signals, json.signals, strict=True):
        assert np.array_equal(got, expected)
        assert got.flags.c_contiguous
        assert not got.flags.writeable


def test_a_binary_chunk_is_interleaved_by_sample_in_the_declared_lead_order() -> None:
    header = struct.pack("<2sBBQ", b"EC", 1, 2, 9)
    samples = struct.pack("<6h", 10, 20, -30, 11, 21, -31)  # sample 0 of I, II, III, ...
    chunk = parse_binary_chunk(header + samples, ("I", "II", "III"), 2)
    assert chunk.seq == 9
    assert [signal.tolist() for signal in chunk.signals] == [[10, 11], [20, 21], [-30, -31]]


def test_a_binary_chunk_does_not_share_the_buffer_it_was_read_from() -> None:
    data = bytearray(binary_chunk(0, [[1], [2]], 4))
    chunk = parse_binary_chunk(data, LEADS, 10)
    data[12:] = bytes(8)
    assert [signal.tolist() for signal in chunk.signals] == [[1], [2]]


def test_a_binary_chunk_takes_max_samples_and_the_largest_seq() -> None:
    chunk = parse_binary_chunk(binary_chunk(2**63 - 1, [[1] * 10, [2] * 10]), LEADS, 10)
    assert (chunk.seq, chunk.number_of_samples) == (2**63 - 1, 10)


def header(width: int = 2, seq: int = 0, magic: bytes = b"EC", version: int = 1) -> bytes:
    return struct.pack("<2sBBQ", magic, version, width, seq)


@pytest.mark.parametrize(
    ("data", "fields", "message"),
    [
        (b"", ["header"], "header: the body has 0 bytes; a binary chunk starts with a 12-byte"),
        (header()[:11], ["header"], "the body has 11 bytes"),
        (
            header(magic=b"CE") + bytes(4),
            ["header.magic"],
            "header.magic: expected the ASCII magic 'EC' in bytes 0-1, got b'CE'",
        ),
        (
            b'{"seq": 0, "signal": [[1], [2]]}',
            ["header.magic"],
            "this looks like a JSON chunk: send it as application/json",
        ),
        (
            header(width=3, version=2) + bytes(4),
            ["header.version"],
            "header.version: expected format version 1, got 2",
        ),
        (
            header(width=3) + bytes(6),
            ["header.sample_width"],
            "header.sample_width: expected the bytes per sample, 2 (int16) or 4 (int32), got 3",
        ),
        (
            header(seq=2**63) + bytes(4),
            ["header.seq"],
            f"header.seq: expected a seq from 0 (the first chunk) to {2**63 - 1}, got {2**63}",
        ),
        (
            header(width=8, seq=2**64 - 1),
            ["header.sample_width", "header.seq"],
            "2 problems: header.sample_width: ",
        ),
        (
            header(),
            ["samples"],
            "samples: none after the header; a chunk has at least one "
            "(2 leads x 2 bytes = 4 bytes per sample)",
        ),
        (
            header() + bytes(13),
            ["samples"],
            "samples: 13 bytes after the header is not a whole number of samples: "
            "2 leads x 2 bytes = 4 bytes per sample",
        ),
        (
            header(width=4) + bytes(12),
            ["samples"],
            "12 bytes after the header is not a whole number of samples: "
            "2 leads x 4 bytes = 8 bytes per sample",
        ),
        (
            binary_chunk(0, [[1] * 11, [2] * 11], 4),
            ["samples"],
            "samples: has 11 samples per lead; a chunk takes at most 10: send them in several",
        ),
    ],
)
def test_a_bad_binary_chunk_says_what_to_fix(data: bytes, fields: list[str], message: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        parse_binary_chunk(data, LEADS, 10)
    assert fields_of(error) == fields
    assert message in str(error.value)


def test_a_binary_chunk_of_one_lead_counts_in_its_words() -> None:
    with pytest.raises(InvalidInputError) as error:
        parse_binary_chunk(header() + bytes(3), ("MLII",), 10)
    assert str(error.value).endswith("1 lead x 2 bytes = 2 bytes per sample")
