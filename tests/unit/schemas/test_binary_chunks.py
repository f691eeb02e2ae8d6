"""The binary chunk format: the encoder against the documented layout written out by
hand, round trips, and every malformed part named by the decoder."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from schemas.binary_chunks import (
    DTYPES,
    MAX_SEQ,
    BinaryChunkError,
    decode_binary_chunk,
    encode_binary_chunk,
    read_seq,
)


def header(width: int = 2, seq: int = 0, magic: bytes = b"EC", version: int = 1) -> bytes:
    return struct.pack("<2sBBQ", magic, version, width, seq)


@pytest.mark.parametrize(
    ("signal", "width", "samples"),
    [
        ([[1, -32768], [32767, 0]], 2, struct.pack("<4h", 1, 32767, -32768, 0)),
        ([[1, 70_000], [-70_000, 0]], 4, struct.pack("<4i", 1, -70_000, 70_000, 0)),
    ],
    ids=["int16", "int32"],
)
def test_a_chunk_is_int16_while_the_samples_fit_else_int32(
    signal: list[list[int]], width: int, samples: bytes
) -> None:
    data = encode_binary_chunk(7, signal)
    assert data == header(width, 7) + samples  # interleaved by sample: I0 II0 I1 II1
    seq, signals = decode_binary_chunk(data, 2, 10)
    assert seq == 7
    assert [lead.tolist() for lead in signals] == signal


@pytest.mark.parametrize("width", [2, 4])
def test_a_round_trip_gives_every_sample_back(width: int) -> None:
    rng = np.random.default_rng(13)
    high = 2**15 if width == 2 else 2**31
    signal = rng.integers(-high, high, (3, 500))
    seq, signals = decode_binary_chunk(encode_binary_chunk(MAX_SEQ, signal, width), 3, 500)
    assert seq == MAX_SEQ
    assert signals.dtype == DTYPES[width]  # the width of the chunk, as its message has
    for got, expected in zip(signals, signal, strict=True):
        assert got.flags.c_contiguous
        assert not got.flags.writeable
        assert np.array_equal(got, expected)


def test_the_decoded_samples_do_not_share_the_buffer() -> None:
    data = bytearray(encode_binary_chunk(0, [[1], [2]], 4))
    _, signals = decode_binary_chunk(data, 2, 10)
    data[12:] = bytes(8)
    assert [lead.tolist() for lead in signals] == [[1], [2]]


@pytest.mark.parametrize(
    ("seq", "signal", "width", "problem"),
    [
        (-1, [[1]], None, "seq"),
        (MAX_SEQ + 1, [[1]], None, "seq"),
        (0, [[1]], 3, "2 or 4"),
        (0, [[2**15]], 2, "does not fit in 2 bytes"),
        (0, [[2**31]], 4, "does not fit in 4 bytes"),
    ],
)
def test_the_encoder_refuses_what_the_format_cannot_carry(
    seq: int, signal: list[list[int]], width: int | None, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        encode_binary_chunk(seq, signal, width)


@pytest.mark.parametrize(
    ("data", "parts"),
    [
        (b"", ["header"]),
        (header()[:11], ["header"]),
        (header(magic=b"CE") + bytes(4), ["header.magic"]),
        (b'{"seq": 0, "signal": [[1], [2]]}', ["header.magic"]),
        (header(width=3, version=2) + bytes(4), ["header.version"]),
        (header(width=3) + bytes(6), ["header.sample_width"]),
        (header(seq=2**63) + bytes(4), ["header.seq"]),
        (header(width=8, seq=2**64 - 1), ["header.sample_width", "header.seq"]),
        (header(), ["samples"]),
        (header() + bytes(13), ["samples"]),
        (encode_binary_chunk(0, [[1] * 11, [2] * 11]), ["samples"]),
    ],
    ids=[
        "empty",
        "short-header",
        "magic",
        "json",
        "version",
        "width",
        "seq",
        "width-and-seq",
        "no-samples",
        "partial-sample",
        "too-many-samples",
    ],
)
def test_every_malformed_part_is_named(data: bytes, parts: list[str]) -> None:
    with pytest.raises(BinaryChunkError) as error:
        decode_binary_chunk(data, 2, 10)
    assert [part for part, _ in error.value.problems] == parts
    assert str(error.value).startswith(f"{parts[0]}: ")


def test_the_seq_is_read_only_from_a_whole_and_known_header() -> None:
    assert read_seq(encode_binary_chunk(2**40, [[1], [2]])) == 2**40
    assert read_seq(header(seq=5, width=3)) == 5  # the width is the decoder's business
    assert read_seq(header(magic=b"XX")) is None
    assert read_seq(header(version=2)) is None
    assert read_seq(header(seq=2**63)) is None
    assert read_seq(b"EC\x01") is None
