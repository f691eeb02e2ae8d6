"""``GET /api/v1/ecg/{ecg_id}/fhir?leads=&start=&end=``: an ECG's stored samples as one
FHIR R4 (4.0.1) Observation, ``application/fhir+json`` (``application/json`` on
``Accept``; any other is 406), for systems that speak FHIR rather than this API.

Owner only and audited, like ``/signal``, whose ``leads``, ``start`` and ``end`` it
takes and whose reading of the archive it shares (``gateway.recordings.ranges``). The
Observation:

- ``status`` ``final`` once the ECG is ``done`` and the archive holds every sample of
  the leads served, else ``preliminary`` (``receiving``, ``processing``, ``incomplete``,
  or the archive still behind the analysis: they are separate consumers).
- ``category`` procedure, ``code`` LOINC 11524-6 "EKG study", ``identifier`` the ECG's
  id as a ``urn:uuid``. No ``subject`` (optional in R4): the pipeline keeps no patient,
  only the account that sent the ECG, who need not be the patient.
- ``effectivePeriod``: from the ECG's ``date`` + ``start`` / rate to ``date`` + the end
  served / rate; a ``note`` names the samples served and, while they stop before the
  ECG's end, the ``start`` of the next page.
- A component per lead, its ``valueSampledData``: FHIR reads ``origin + factor x data``,
  and a sample is an ADC value of ``(value - baseline) / gain`` mV, so ``data`` is the
  samples as they were sent (no rounding), ``factor`` 1 / gain and ``origin`` -baseline
  / gain mV (UCUM ``mV``). A lead without a gain has no ``factor`` and an origin of
  -baseline in "ADC units", without a UCUM code: its scale is unknown. ``period`` is
  1000 / sampling rate ms, ``dimensions`` 1. A lead ends where its stored samples end, as
  in ``/signal``; a sample missing from the archive before that (a chunk the worker
  skipped) is ``E``, so that the samples after it keep their time. A lead without a
  sample in the range has a ``dataAbsentReason`` instead (obs-6: never both),
  ``temp-unknown`` while preliminary, else ``not-applicable`` (past the lead's end).
- The lead's code is its potential in IEEE 11073-10101 (system
  ``urn:oid:2.16.840.1.113883.6.24``), MDC_ECG_ELEC_POTL_<lead> = 2:(256 + n) for the lead
  MDC_ECG_LEAD_<lead> = 2:n (DICOM CID 3001), as FHIR's own ECG example codes its leads:
  I 131329 ... V6 131336, III 131389, aVR 131390, aVL 131391, aVF 131392, V7 131337, V8
  131394, V9 131395, V3R-V6R 131339-131342, X, Y, Z 131344-131346. MLI, MLII and MLIII
  have no code of their own (10101 has one, MDC_ECG_LEAD_ML, for every modified limb
  lead): their code is the name as text only, since a code system of ours would promise
  a meaning that no receiver can look up. No component has the Observation's code (obs-7).
- A heart-rate component, LOINC 8867-4 in UCUM ``/min``: the ECG summary's (over the
  whole ECG so far, also in a page); while there is none, ``dataAbsentReason``
  ``temp-unknown``, and ``unknown`` with the analysis' reason when the final summary has
  none.

An ECG without a sampling rate has no SampledData period: 422, read it with ``/signal``.

One Observation holds at most ``MAX_FHIR_VALUES`` samples x leads, a quarter of
``/signal``'s bound: a FHIR server takes a resource whole, in one request body.
500,000 values are ~2 MB of JSON, written in ~70 ms (measured, in a worker thread): a
12-lead ECG at 500 Hz for 83 s (PTB's 38 s at 1,000 Hz fit), a 2-lead Holter at 360 Hz
for 11 minutes. A larger range, the whole ECG by default, is a 422 that says which
``end`` fits: page with ``start`` and ``end``, each page an Observation of its own
samples (the same ``identifier``).

The tests validate the Observation with ``fhir.resources``' R4B model (FHIR 4.3.0, the
closest it has to 4.0.1: Observation and SampledData are unchanged between them; its
default models are R5, whose SampledData differs), and check obs-6 and obs-7 themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import anyio.to_thread
import numpy as np
from anyio import CapacityLimiter
from numpy.typing import NDArray
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.authentication import Authenticator
from gateway.errors import EcgNotFoundError, FieldError, InvalidInputError
from gateway.recordings.access import NO_STORE, reading_ecg
from gateway.recordings.ranges import range_end, read_signals, select_leads
from gateway.recordings.repository import ArchivedChunk, ArchivedLead, SignalLayout, StoredEcg
from gateway.recordings.signal import JSON, negotiate, parse_signal_query
from gateway.recordings.state import RecordingsState

FHIR_JSON: Final = "application/fhir+json"
OFFERED: Final = (FHIR_JSON, JSON)
MAX_FHIR_VALUES: Final = 500_000
WRITERS: Final = 2

LOINC: Final = "http://loinc.org"
MDC: Final = "urn:oid:2.16.840.1.113883.6.24"
UCUM: Final = "http://unitsofmeasure.org"
CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
ABSENT: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

# n of MDC_ECG_LEAD_<lead> = 2:n; the lead's potential, MDC_ECG_ELEC_POTL_<lead>, is
# 2:(256 + n), code 2 x 65536 + 256 + n.
MDC_LEADS: Final[dict[str, int]] = {
    "I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8, "V7": 9,
    "V3R": 11, "V4R": 12, "V5R": 13, "V6R": 14, "X": 16, "Y": 17, "Z": 18,
    "III": 61, "aVR": 62, "aVL": 63, "aVF": 64, "V8": 66, "V9": 67,
}  # fmt: skip
ELEC_POTL: Final = 2 * 65536 + 256  # MDC_ECG_ELEC_POTL, 131328


@dataclass(frozen=True, eq=False)
class LeadSamples:
    """A lead's samples from ``start`` on, and which of them the archive holds."""

    values: NDArray[np.int32]
    stored: NDArray[np.bool_]


class FhirEndpoints:
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator
        self._writers = CapacityLimiter(WRITERS)

    @property
    def routes(self) -> list[Route]:
        return [Route("/api/v1/ecg/{ecg_id}/fhir", self.fhir, methods=["GET"], name="fhir")]

    async def fhir(self, request: Request[RecordingsState]) -> Response:
        async with reading_ecg(self._authenticator, request, "ecg.fhir") as (ecg_id, owner):
            query = parse_signal_query(request)
            media_type = negotiate(request.headers.get("accept"), OFFERED)
            repository = request.state["repository"]
            ecg = await repository.get(ecg_id, owner)
            layout = await repository.signal_layout(ecg_id, owner)
            if ecg is None or layout is None:
                raise EcgNotFoundError(ecg_id)
            if ecg.sampling_rate is None:
                raise InvalidInputError([FieldError("ecg_id", NO_RATE)])
            positions = select_leads(query.leads, layout.leads)
            stored = [layout.leads[p].stored for p in positions]
            end = range_end(query.start, query.end, stored, MAX_FHIR_VALUES)
            chunks: list[ArchivedChunk] = []
            if end > query.start:
                chunks = await repository.sample_chunks(ecg_id, owner, query.start, end)
            body = await anyio.to_thread.run_sync(
                observation_json,
                ecg,
                layout,
                positions,
                chunks,
                query.start,
                end,
                limiter=self._writers,
            )
        return Response(body, media_type=media_type, headers=dict(NO_STORE))


NO_RATE: Final = (
    "this ECG has no sampling rate, and a FHIR SampledData needs the time between samples; "
    "read its samples with /signal"
)


def observation_json(
    ecg: StoredEcg,
    layout: SignalLayout,
    positions: Sequence[int],
    chunks: Sequence[ArchivedChunk],
    start: int,
    end: int,
) -> bytes:
    """The Observation of samples ``[start, end)`` of the leads at ``positions``, each
    to its stored end; runs in a worker thread."""
    ends = [min(end, layout.leads[p].stored) for p in positions]
    samples = read_with_gaps(chunks, positions, start, ends)
    return json.dumps(observation(ecg, layout, positions, samples, start)).encode()


def read_with_gaps(
    chunks: Sequence[ArchivedChunk], positions: Sequence[int], start: int, ends: Sequence[int]
) -> list[LeadSamples]:
    """Samples ``[start, ends[i])`` of the lead at ``positions[i]``: each run of chunks
    that follow one another is read as ``/signal`` reads a range, and the samples between
    two runs, which no chunk holds, are marked missing."""
    values = [np.zeros(max(0, stop - start), dtype=np.int32) for stop in ends]
    stored = [np.zeros(max(0, stop - start), dtype=np.bool_) for stop in ends]
    last = max(ends, default=start)
    for run in chunk_runs(chunks):
        first, stop = max(start, run[0].start_sample), min(last, _chunk_end(run[-1]))
        if first >= stop:
            continue
        for i, signal in enumerate(read_signals(run, positions, first, stop)):
            offset = first - start
            count = max(0, min(signal.size, ends[i] - first))
            values[i][offset : offset + count] = signal[:count]
            stored[i][offset : offset + count] = True
    return [LeadSamples(v, s) for v, s in zip(values, stored, strict=True)]


def chunk_runs(chunks: Iterable[ArchivedChunk]) -> list[list[ArchivedChunk]]:
    """The chunks (in the order of their first sample) in runs without a hole."""
    runs: list[list[ArchivedChunk]] = []
    for chunk in chunks:
        if runs and chunk.start_sample == _chunk_end(runs[-1][-1]):
            runs[-1].append(chunk)
        else:
            runs.append([chunk])
    return runs


def _chunk_end(chunk: ArchivedChunk) -> int:
    return chunk.start_sample + max(chunk.lead_samples, default=0)


def observation(
    ecg: StoredEcg,
    layout: SignalLayout,
    positions: Sequence[int],
    samples: Sequence[LeadSamples],
    start: int,
) -> dict[str, Any]:
    """The Observation of ``samples`` (of the leads at ``positions``, from ``start``)."""
    assert ecg.sampling_rate is not None, "refused before: no SampledData without a rate"
    rate = ecg.sampling_rate
    end = start + max((lead.values.size for lead in samples), default=0)
    total = max((ecg.leads[p].number_of_samples for p in positions), default=0)
    final = ecg.status == "done" and all(
        layout.leads[p].stored >= ecg.leads[p].number_of_samples for p in positions
    )
    components = [
        lead_component(layout.leads[p], rate, lead, final)
        for p, lead in zip(positions, samples, strict=True)
    ]
    page = f"samples {start} to {end} (exclusive) of {total} per lead, at {rate:g} Hz"
    if end < total:
        page += f"; the next page from start={end}"
    return {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{ecg.id}"}],
        "status": "final" if final else "preliminary",
        "category": [concept(CATEGORY, "procedure", "Procedure")],
        "code": concept(LOINC, "11524-6", "EKG study"),
        "effectivePeriod": {
            "start": fhir_instant(ecg.date, start / rate),
            "end": fhir_instant(ecg.date, end / rate),
        },
        "note": [{"text": page}],
        "component": [*components, heart_rate_component(ecg.summary)],
    }


def lead_component(
    lead: ArchivedLead, sampling_rate: float, samples: LeadSamples, final: bool
) -> dict[str, Any]:
    """A lead's samples as a SampledData in mV (in ADC units without a gain)."""
    code = lead_code(lead.name)
    if not samples.values.size:
        why = "not-applicable" if final else "temp-unknown"
        return {"code": code, "dataAbsentReason": absent(why, "no sample stored in the range")}
    offset = lead.baseline or 0
    sampled: dict[str, Any] = {}
    if lead.gain is None:
        sampled["origin"] = {"value": -offset, "unit": "ADC units"}
    else:
        origin = -offset / lead.gain if offset else 0.0
        sampled["origin"] = {"value": origin, "unit": "mV", "system": UCUM, "code": "mV"}
        sampled["factor"] = 1 / lead.gain
    sampled |= {"period": 1000 / sampling_rate, "dimensions": 1, "data": sampled_data(samples)}
    return {"code": code, "valueSampledData": sampled}


def lead_code(name: str) -> dict[str, Any]:
    """The lead's potential in IEEE 11073-10101, or its name alone when it has no code."""
    number = MDC_LEADS.get(name)
    if number is None:
        return {"text": name}
    return concept(MDC, str(ELEC_POTL + number), f"MDC_ECG_ELEC_POTL_{name.upper()}", name)


def sampled_data(samples: LeadSamples) -> str:
    """The samples separated by spaces, ``E`` for one the archive lacks."""
    if samples.stored.all():
        return " ".join(map(str, samples.values.tolist()))
    return " ".join(
        str(value) if stored else "E"
        for value, stored in zip(samples.values.tolist(), samples.stored.tolist(), strict=True)
    )


def heart_rate_component(summary: Any) -> dict[str, Any]:
    """The summary's heart rate in beats per minute, or why there is none."""
    code = concept(LOINC, "8867-4", "Heart rate")
    measure = (summary or {}).get("heart_rate_bpm") or {}
    if measure.get("value") is not None:
        rate = {"value": round(measure["value"], 1), "unit": "beats/minute"}
        return {"code": code, "valueQuantity": rate | {"system": UCUM, "code": "/min"}}
    if summary is not None and summary.get("final"):
        reason = measure.get("reason") or "the analysis found none"
        return {"code": code, "dataAbsentReason": absent("unknown", reason)}
    return {"code": code, "dataAbsentReason": absent("temp-unknown", "not analysed yet")}


def concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code, "display": display}
    return {"coding": [coding], "text": display if text is None else text}


def absent(code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": ABSENT, "code": code}], "text": text}


def fhir_instant(date: datetime, seconds: float) -> str:
    """``date`` + ``seconds`` as a FHIR dateTime in UTC, to the millisecond."""
    moment = (date + timedelta(seconds=seconds)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_STRING: Final = {"type": "string"}
_CONCEPT: Final = {
    "type": "object",
    "properties": {
        "coding": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"system": _STRING, "code": _STRING, "display": _STRING},
                "required": ["system", "code"],
            },
        },
        "text": _STRING,
    },
}
_QUANTITY: Final = {
    "type": "object",
    "properties": {
        "value": {"type": "number"},
        "unit": _STRING,
        "system": _STRING,
        "code": _STRING,
    },
    "required": ["value"],
}
_SAMPLED_DATA: Final = {
    "type": "object",
    "properties": {
        "origin": _QUANTITY,
        "period": {"type": "number", "description": "ms between samples"},
        "factor": {"type": "number", "description": "mV per ADC unit: 1 / gain"},
        "dimensions": {"const": 1},
        "data": {
            "type": "string",
            "description": "the samples as sent, separated by spaces; E: not stored",
            "pattern": "^(-?[0-9]+|E)( (-?[0-9]+|E))*$",
        },
    },
    "required": ["origin", "period", "dimensions", "data"],
}
# What ``observation`` writes, for the OpenAPI document (``gateway.openapi``).
OBSERVATION_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "a FHIR R4 Observation (see docs/api.md, FHIR)",
    "properties": {
        "resourceType": {"const": "Observation"},
        "identifier": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"system": _STRING, "value": _STRING},
                "required": ["system", "value"],
            },
        },
        "status": {"enum": ["final", "preliminary"]},
        "category": {"type": "array", "items": _CONCEPT},
        "code": _CONCEPT,
        "effectivePeriod": {
            "type": "object",
            "properties": {"start": _STRING, "end": _STRING},
            "required": ["start", "end"],
        },
        "note": {
            "type": "array",
            "items": {"type": "object", "properties": {"text": _STRING}, "required": ["text"]},
        },
        "component": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": _CONCEPT,
                    "valueSampledData": _SAMPLED_DATA,
                    "valueQuantity": _QUANTITY,
                    "dataAbsentReason": _CONCEPT,
                },
                "required": ["code"],
                "oneOf": [
                    {"required": ["valueSampledData"]},
                    {"required": ["valueQuantity"]},
                    {"required": ["dataAbsentReason"]},
                ],
            },
        },
    },
    "required": [
        "resourceType",
        "identifier",
        "status",
        "category",
        "code",
        "effectivePeriod",
        "component",
    ],
}
