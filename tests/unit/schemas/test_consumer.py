"""The decoder a downstream consumer could write from the .avsc files alone reads what
the pipeline's codec writes."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas import codec, consumer
from schemas.codec import Schema
from schemas.consumer import DecodeError, decode, leading_fields, read_schemas, to_json
from tests.conftest import REPO
from tests.results import analysed_ecg

Results = tuple[list[dict[str, Any]], dict[str, Any]]
ECG_ID = uuid.UUID("6f1c2a4e-8d3b-4e7a-9c10-2b5d7e9f0a13")


@pytest.fixture(scope="module")
def results() -> Results:
    return analysed_ecg(ECG_ID)


def test_reads_the_windows_and_the_summary_that_the_codec_writes(
    results: Results,
) -> None:
    windows, summary = results
    schemas = read_schemas()
    for window in windows:
        assert decode(codec.encode(Schema.WINDOW_RESULT, window), schemas) == window
    assert decode(codec.encode(Schema.ECG_SUMMARY, summary), schemas) == summary
    assert len(windows) == 3
    assert sum(len(window["beats"]) for window in windows) == 29


def test_the_leading_fields_of_a_window_are_read_alone(results: Results) -> None:
    windows, summary = results
    names = ("ecg_id", "index", "start_sample", "end_sample")
    schemas = leading_fields(read_schemas(), names)
    for window in windows:
        message = codec.encode(Schema.WINDOW_RESULT, window)
        assert decode(message, schemas) == {name: window[name] for name in names}
    assert codec.fingerprint_of(Schema.ECG_SUMMARY) not in schemas  # it starts otherwise
    with pytest.raises(DecodeError, match="unknown writer schema"):
        decode(codec.encode(Schema.ECG_SUMMARY, summary), schemas)


def test_the_avsc_files_alone_are_enough(tmp_path: Path, results: Results) -> None:
    # The files copied flat, away from the package, as a consumer would vendor them.
    for path in consumer.FOLDER.rglob("*.avsc"):
        shutil.copy(path, tmp_path / path.name)
    schemas = read_schemas(tmp_path)
    assert set(schemas) == set(read_schemas())
    assert {codec.fingerprint_of(schema) for schema in Schema} <= set(schemas)
    _, summary = results
    assert decode(codec.encode(Schema.ECG_SUMMARY, summary), schemas) == summary


def test_a_message_of_an_earlier_version_is_read_as_it_was_written() -> None:
    old = codec.load_history_json(Schema.ECG_SUMMARY)[0]  # version 1
    parsed = parse_schema(old)
    out = io.BytesIO()
    out.write(
        b"\xc3\x01" + bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
    )
    record = {
        "ecg_id": ECG_ID,
        "date": 1_714_557_600_000_000,
        "sampling_rate": None,
        "n_windows": 1,
        "leads": [{"name": "I", "number_of_samples": 5, "zero_crossings": 2}],
    }
    schemaless_writer(out, parsed, record)
    decoded = decode(out.getvalue(), read_schemas())
    assert decoded["leads"] == record["leads"]
    assert "heart_rate_bpm" not in decoded  # added after version 1


def test_an_unknown_fingerprint_is_a_clear_error(
    results: Results,
) -> None:
    data = bytearray(codec.encode(Schema.WINDOW_RESULT, results[0][0]))
    data[5] ^= 0xFF
    with pytest.raises(DecodeError, match=f"unknown writer schema fingerprint {data[2:10].hex()}"):
        decode(bytes(data), read_schemas())


@pytest.mark.parametrize("data", [b"", b'{"index": 0}', b"\xc3\x01\x00"])
def test_anything_but_a_single_object_encoding_is_refused(data: bytes) -> None:
    with pytest.raises(DecodeError, match="not Avro single-object encoded"):
        decode(data, read_schemas())


def test_a_truncated_body_is_a_decode_error(
    results: Results,
) -> None:
    data = codec.encode(Schema.WINDOW_RESULT, results[0][0])
    with pytest.raises(DecodeError, match=r"malformed ecg\.pipeline\.v1\.WindowResult"):
        decode(data[:-20], read_schemas())


def test_json_renders_ids_timestamps_and_bytes_as_text(
    results: Results,
) -> None:
    schemas = read_schemas()
    summary = decode(codec.encode(Schema.ECG_SUMMARY, results[1]), schemas)
    rendered = json.loads(to_json(summary))
    assert (rendered["ecg_id"], rendered["date"]) == (str(ECG_ID), "2024-05-01T10:00:00Z")
    assert rendered["leads"][0]["quality"]["windows"]["good"] == 3
    dead_letter = {
        "topic": "ecg.samples.v1",
        "partition": 1,
        "offset": 7,
        "reason": "malformed",
        "payload": b"\x00\xff",
    }
    decoded = decode(codec.encode(Schema.DEAD_LETTER, dead_letter), schemas)
    assert json.loads(to_json(decoded))["payload"] == "AP8="  # base64


def test_it_does_not_use_the_pipelines_codec() -> None:
    check = "import sys, schemas.consumer; assert 'schemas.codec' not in sys.modules"
    subprocess.run([sys.executable, "-c", check], cwd=REPO, check=True, timeout=60)
