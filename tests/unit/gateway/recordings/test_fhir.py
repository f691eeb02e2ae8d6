from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fhir.resources.R4B.observation import Observation
from numpy.typing import NDArray

from gateway.errors import InvalidInputError, NotAcceptableError
from gateway.leads import LEAD_NAMES
from gateway.recordings.fhir import (
    FHIR_JSON,
    MAX_FHIR_VALUES,
    MDC,
    OFFERED,
    chunk_runs,
    lead_code,
    observation_json,
)
from gateway.recordings.ranges import range_end
from gateway.recordings.repository import (
    ArchivedChunk,
    ArchivedLead,
    SignalLayout,
    StoredEcg,
    StoredLead,
)
from gateway.recordings.signal import JSON, negotiate
from schemas.codec import encode_samples
from schemas.sample_archive import pack
from tests.records import read_record

DATE = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
STATUSES = {"registered", "preliminary", "final", "amended"}  # those R4 allows a new one
DATA = re.compile(r"(-?[0-9]+(\.[0-9]+)?|[ELU])( (-?[0-9]+(\.[0-9]+)?|[ELU]))*")
SUMMARY = {"heart_rate_bpm": {"value": 71.84, "reason": None}, "final": True}


def validated(body: bytes) -> dict[str, Any]:
    """The Observation, once the FHIR R4 model accepts it and it keeps the rules that the
    model does not check: the status's value set, SampledData's data format, obs-6 (a
    value or a dataAbsentReason, never both) and obs-7 (no component with the
    Observation's code carries a value)."""
    document: dict[str, Any] = json.loads(body)
    Observation.model_validate(document)
    assert document["resourceType"] == "Observation"
    assert document["status"] in STATUSES
    codes = {(c["system"], c["code"]) for c in document["code"]["coding"]}
    for component in document["component"]:
        values = [key for key in component if key.startswith("value")]
        assert len(values) + ("dataAbsentReason" in component) == 1, component["code"]
        coded = {(c["system"], c["code"]) for c in component["code"].get("coding", [])}
        assert not coded & codes
        if "valueSampledData" in component:
            assert DATA.fullmatch(component["valueSampledData"]["data"])
    return document


def chunk(start_sample: int, leads: Sequence[NDArray[np.int32]]) -> ArchivedChunk:
    width, samples = encode_samples(leads)
    lead_samples, frame = pack(width, samples)
    return ArchivedChunk(start_sample, width, lead_samples, frame)


def archived(signals: Sequence[NDArray[np.int32]], length: int) -> list[ArchivedChunk]:
    """The chunks of ``length`` samples per lead that the gateway's chunker cuts."""
    longest = max(signal.size for signal in signals)
    return [
        chunk(start, [signal[start : start + length] for signal in signals])
        for start in range(0, longest, length)
    ]


def stored_ecg(
    names: Sequence[str],
    lengths: Sequence[int],
    status: str = "done",
    sampling_rate: float | None = 500.0,
    summary: Any = SUMMARY,
) -> StoredEcg:
    leads = tuple(
        StoredLead(name, n, None, None, None) for name, n in zip(names, lengths, strict=True)
    )
    return StoredEcg(uuid.uuid4(), DATE, status, sampling_rate, leads, summary, 1)


def layout_of(
    names: Sequence[str],
    stored: Sequence[int],
    gains: Sequence[float | None],
    baselines: Sequence[int | None],
    sampling_rate: float = 500.0,
) -> SignalLayout:
    leads = zip(names, gains, baselines, stored, strict=True)
    return SignalLayout(sampling_rate, tuple(ArchivedLead(*lead) for lead in leads))


def millivolts(component: dict[str, Any]) -> NDArray[np.float64]:
    """FHIR's reading of a SampledData: origin + factor x data."""
    sampled = component["valueSampledData"]
    data = np.array(sampled["data"].split(), dtype=np.float64)
    return np.asarray(sampled["origin"]["value"] + sampled.get("factor", 1) * data)


def test_a_12_lead_ecg_is_an_r4_observation_in_millivolts(data_dir: Path) -> None:
    record = read_record(data_dir / "ptbdb" / "s0010_re")
    names = list(LEAD_NAMES[:12])
    signals = record.signals[:12, :5000]
    layout = layout_of(names, [5000] * 12, record.gains[:12], record.baselines[:12], 1000.0)
    ecg = stored_ecg(names, [5000] * 12, sampling_rate=1000.0)
    body = validated(
        observation_json(ecg, layout, range(12), archived(list(signals), 1000), 0, 5000)
    )
    assert body["status"] == "final"
    assert body["code"]["coding"] == [
        {"system": "http://loinc.org", "code": "11524-6", "display": "EKG study"}
    ]
    assert body["category"][0]["coding"][0]["code"] == "procedure"
    assert body["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{ecg.id}"}]
    assert body["effectivePeriod"] == {
        "start": "2024-05-01T10:00:00.000Z",
        "end": "2024-05-01T10:00:05.000Z",
    }
    assert "subject" not in body
    *leads, heart_rate = body["component"]
    assert [lead["code"]["text"] for lead in leads] == names
    assert [int(lead["code"]["coding"][0]["code"]) for lead in leads] == [
        131329, 131330, 131389, 131390, 131391, 131392,
        131331, 131332, 131333, 131334, 131335, 131336,
    ]  # fmt: skip
    for lead, signal, gain, baseline in zip(
        leads, signals, record.gains[:12], record.baselines[:12], strict=True
    ):
        sampled = lead["valueSampledData"]
        assert (sampled["period"], sampled["dimensions"]) == (1.0, 1)
        assert sampled["origin"]["code"] == "mV"
        assert sampled["data"] == " ".join(str(v) for v in signal.tolist())
        assert np.allclose(millivolts(lead), (signal - baseline) / gain, rtol=0, atol=1e-12)
    assert heart_rate["code"]["coding"][0]["code"] == "8867-4"
    assert heart_rate["valueQuantity"] == {
        "value": 71.8,
        "unit": "beats/minute",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }


def test_a_2_lead_holter_is_an_r4_observation_in_millivolts(data_dir: Path) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 360 * 60]
    n = signals.shape[1]
    layout = layout_of(record.lead_names, [n, n], record.gains, record.baselines, 360.0)
    ecg = stored_ecg(record.lead_names, [n, n], sampling_rate=360.0)
    body = validated(observation_json(ecg, layout, [0, 1], archived(list(signals), 360), 0, n))
    mlii, v5, _ = body["component"]
    assert mlii["code"] == {"text": "MLII"}  # no code of its own in IEEE 11073-10101
    assert v5["code"]["coding"] == [
        {"system": MDC, "code": "131335", "display": "MDC_ECG_ELEC_POTL_V5"}
    ]
    sampled = mlii["valueSampledData"]
    assert sampled["period"] == pytest.approx(1000 / 360)
    assert sampled["origin"]["value"] == pytest.approx(-1024 / 200)
    assert sampled["factor"] == pytest.approx(1 / 200)
    for lead, signal in zip((mlii, v5), signals, strict=True):
        assert np.allclose(millivolts(lead), (signal - 1024) / 200, rtol=0, atol=1e-12)
        assert np.array_equal(np.array(lead["valueSampledData"]["data"].split(), int), signal)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("I", 131329), ("II", 131330), ("III", 131389), ("aVR", 131390), ("aVL", 131391),
        ("aVF", 131392), ("V1", 131331), ("V6", 131336), ("V7", 131337), ("V8", 131394),
        ("V9", 131395), ("V3R", 131339), ("V4R", 131340), ("V5R", 131341), ("V6R", 131342),
        ("X", 131344), ("Y", 131345), ("Z", 131346),
    ],
)  # fmt: skip
def test_leads_are_coded_by_their_potential_in_ieee_11073(name: str, code: int) -> None:
    assert lead_code(name)["coding"] == [
        {"system": MDC, "code": str(code), "display": f"MDC_ECG_ELEC_POTL_{name.upper()}"}
    ]
    assert lead_code(name)["text"] == name


@pytest.mark.parametrize("name", ["MLI", "MLII", "MLIII"])
def test_modified_limb_leads_are_named_without_a_code(name: str) -> None:
    assert lead_code(name) == {"text": name}


def test_every_accepted_lead_has_a_code_or_its_name() -> None:
    codes = [lead_code(name) for name in LEAD_NAMES]
    coded = [c["coding"][0]["code"] for c in codes if "coding" in c]
    assert len(coded) == len(set(coded)) == len(LEAD_NAMES) - 3
    assert [c["text"] for c in codes] == list(LEAD_NAMES)


def test_a_page_covers_its_samples_and_names_the_next() -> None:
    signal = np.arange(-500, 500, dtype=np.int32)
    layout = layout_of(["II"], [1000], [100.0], [0])
    ecg = stored_ecg(["II"], [1000])
    body = validated(observation_json(ecg, layout, [0], archived([signal], 128), 250, 750))
    assert body["effectivePeriod"] == {
        "start": "2024-05-01T10:00:00.500Z",
        "end": "2024-05-01T10:00:01.500Z",
    }
    assert body["note"] == [
        {"text": "samples 250 to 750 (exclusive) of 1000 per lead, at 500 Hz; "
         "the next page from start=750"}
    ]  # fmt: skip
    sampled = body["component"][0]["valueSampledData"]
    assert sampled["data"] == " ".join(str(v) for v in range(-250, 250))
    assert sampled["origin"]["value"] == 0.0


def test_a_sample_missing_from_the_archive_is_an_error_value() -> None:
    signals = [np.arange(100, dtype=np.int32), np.arange(100, 200, dtype=np.int32)]
    chunks = archived(signals, 10)
    del chunks[3]  # samples 30 to 40: a chunk the worker skipped
    layout = layout_of(["I", "II"], [100, 100], [10.0, 10.0], [0, 0])
    ecg = stored_ecg(["I", "II"], [100, 100])
    body = validated(observation_json(ecg, layout, [0, 1], chunks, 25, 60))
    first, second, _ = body["component"]
    assert first["valueSampledData"]["data"].split() == [
        *map(str, range(25, 30)), *["E"] * 10, *map(str, range(40, 60))
    ]  # fmt: skip
    assert second["valueSampledData"]["data"].split()[4:6] == ["129", "E"]
    assert len(chunk_runs(chunks)) == 2


def test_leads_end_where_their_stored_samples_end() -> None:
    signals = [np.arange(50, dtype=np.int32), np.arange(30, dtype=np.int32)]
    layout = layout_of(["I", "V1"], [50, 30], [1.0, 1.0], [0, 0])
    ecg = stored_ecg(["I", "V1"], [50, 30])
    body = validated(observation_json(ecg, layout, [0, 1], archived(signals, 8), 20, 50))
    first, second, _ = body["component"]
    assert len(first["valueSampledData"]["data"].split()) == 30
    assert second["valueSampledData"]["data"] == " ".join(map(str, range(20, 30)))
    past = validated(observation_json(ecg, layout, [1], archived(signals, 8), 40, 50))
    assert past["component"][0]["dataAbsentReason"]["coding"][0]["code"] == "not-applicable"


def test_an_ecg_without_a_gain_stays_in_adc_units() -> None:
    signal = np.array([1000, 1010, 990], dtype=np.int32)
    layout = layout_of(["V2"], [3], [None], [1000])
    body = validated(
        observation_json(stored_ecg(["V2"], [3]), layout, [0], archived([signal], 3), 0, 3)
    )
    sampled = body["component"][0]["valueSampledData"]
    assert "factor" not in sampled
    assert sampled["origin"] == {"value": -1000, "unit": "ADC units"}
    assert millivolts(body["component"][0]).tolist() == [0, 10, -10]


@pytest.mark.parametrize(
    ("status", "stored", "expected"),
    [
        ("done", 100, "final"),
        ("done", 90, "preliminary"),  # the archive behind the analysis
        ("processing", 100, "preliminary"),
        ("receiving", 100, "preliminary"),
        ("incomplete", 100, "preliminary"),
    ],
)
def test_final_once_done_and_every_sample_is_stored(
    status: str, stored: int, expected: str
) -> None:
    signal = np.arange(stored, dtype=np.int32)
    layout = layout_of(["I"], [stored], [1.0], [0])
    ecg = stored_ecg(["I"], [100], status=status)
    body = validated(observation_json(ecg, layout, [0], archived([signal], 10), 0, stored))
    assert body["status"] == expected


@pytest.mark.parametrize(
    ("summary", "reason"),
    [
        (None, ("temp-unknown", "not analysed yet")),
        ({"heart_rate_bpm": None, "final": False}, ("temp-unknown", "not analysed yet")),
        (
            {
                "heart_rate_bpm": {"value": None, "reason": "needs 1 RR interval, has 0"},
                "final": True,
            },
            ("unknown", "needs 1 RR interval, has 0"),
        ),
    ],
)
def test_a_missing_heart_rate_says_why(summary: Any, reason: tuple[str, str]) -> None:
    signal = np.arange(10, dtype=np.int32)
    layout = layout_of(["I"], [10], [1.0], [0])
    ecg = stored_ecg(["I"], [10], summary=summary)
    body = validated(observation_json(ecg, layout, [0], archived([signal], 10), 0, 10))
    heart_rate = body["component"][-1]
    absent = heart_rate["dataAbsentReason"]
    assert (absent["coding"][0]["code"], absent["text"]) == reason
    assert "valueQuantity" not in heart_rate


def test_nothing_stored_yet_is_absent_data_in_a_preliminary_observation() -> None:
    layout = layout_of(["I", "II"], [0, 0], [1.0, 1.0], [0, 0])
    ecg = stored_ecg(["I", "II"], [500, 500], status="processing", summary=None)
    body = validated(observation_json(ecg, layout, [0, 1], [], 0, 0))
    assert body["status"] == "preliminary"
    for lead in body["component"][:2]:
        assert lead["dataAbsentReason"]["coding"][0]["code"] == "temp-unknown"
    assert body["effectivePeriod"]["start"] == body["effectivePeriod"]["end"]


def test_too_long_a_range_says_which_end_fits() -> None:
    stored = [MAX_FHIR_VALUES // 10] * 12
    with pytest.raises(InvalidInputError) as refused:
        range_end(0, None, stored, MAX_FHIR_VALUES)
    (error,) = refused.value.errors
    assert error.field == "end"
    assert f"at most {MAX_FHIR_VALUES:,}" in error.message
    assert f"(end={MAX_FHIR_VALUES // 12})" in error.message
    assert range_end(0, MAX_FHIR_VALUES // 12, stored, MAX_FHIR_VALUES) == MAX_FHIR_VALUES // 12


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, FHIR_JSON),
        ("*/*", FHIR_JSON),
        ("application/*", FHIR_JSON),
        ("application/json", JSON),
        ("application/fhir+json", FHIR_JSON),
        ("application/fhir+json;q=0.5, application/json", JSON),
    ],
)
def test_fhir_json_unless_json_is_asked_for(accept: str | None, expected: str) -> None:
    assert negotiate(accept, OFFERED) == expected


def test_other_media_types_are_not_acceptable() -> None:
    with pytest.raises(NotAcceptableError):
        negotiate("application/fhir+xml", OFFERED)
