"""The upload body, checked and turned into an ``Upload`` with one numpy array per lead.

Rules (every broken one is reported, with its field path, in one 422):

- top level: ``date`` (required), ``leads`` (required, 1 to 25: one per lead name),
  ``id`` (optional UUID, generated when absent), ``sampling_rate`` (optional number,
  50 <= Hz <= 100000: see ``gateway.declarations.MIN_SAMPLING_RATE``);
- each lead: ``name`` (required, see ``gateway.leads``, no duplicates), ``signal``
  (required, non-empty array of JSON integers in the signed 32-bit range),
  ``number_of_samples`` (optional, must equal the signal's length), ``gain``
  (optional number > 0, ADC units per mV), ``baseline`` (optional integer, int32);
- ``date`` is ISO 8601; a trailing ``Z`` is accepted, a date-time without an
  offset is taken as UTC, and a date alone means its midnight UTC;
- ``id`` must be the hyphenated 8-4-4-4-12 form (any case); it is kept lower-case;
- ``null`` for an optional field means the same as leaving it out;
- unknown fields are errors, so that a typo (``numberOfSamples``) is not silently dropped.

The fields are declared (``gateway.declarations``): the same declarations check the body
and describe it in the OpenAPI document. Signals are checked by ``gateway.signals``,
without a Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final
from uuid import UUID, uuid4

from gateway.body import decode_json
from gateway.declarations import (
    DATE,
    ECG_ID,
    INT32,
    SAMPLING_RATE,
    Field,
    Integer,
    Items,
    LeadName,
    Number,
    Obj,
    Signal,
)
from gateway.fields import Findings
from gateway.leads import LEAD_NAMES
from gateway.uploads import Lead, Upload
from schemas.codec import INT32_MAX
from schemas.sample_chunks import MAX_ECG_SECONDS, max_samples_per_lead

LEAD: Final = Obj(
    (
        Field("name", LeadName(), required=True),
        Field(
            "number_of_samples",
            Integer(0, INT32_MAX, expected="expected a non-negative integer"),
            description="if given, must equal the signal's length",
        ),
        Field("signal", Signal(), required=True, description="the samples, in ADC units"),
        Field("gain", Number(), description="ADC units per mV"),
        Field("baseline", INT32, description="the ADC value of 0 mV"),
    ),
    expected="expected a lead object",
    title="Lead",
)
UPLOAD: Final = Obj(
    (
        ECG_ID,
        DATE,
        SAMPLING_RATE,
        Field(
            "leads",
            Items(
                LEAD,
                max_items=len(LEAD_NAMES),
                expected="expected an array of lead objects",
                too_few="must contain at least one lead",
                too_many="has {count} leads; at most {max_items} are accepted, one per lead name",
            ),
            required=True,
            description="no two leads of the same name",
        ),
    ),
    title="Upload",
    description="A whole ECG. Every broken rule is reported, with its field path, in one 422.",
)
UPLOAD_FIELDS: Final = UPLOAD.names
LEAD_FIELDS: Final = LEAD.names


def parse_upload(body: bytes | bytearray, new_id: Callable[[], UUID] = uuid4) -> Upload:
    return validate_upload(decode_json(body), new_id)


def validate_upload(document: Mapping[str, Any], new_id: Callable[[], UUID] = uuid4) -> Upload:
    found = Findings()
    values = UPLOAD.members(document, "", found)
    leads = _leads(values["leads"] or [], values["sampling_rate"], found)
    found.raise_if_any()
    ecg_id = values["id"]
    return Upload(
        id=new_id() if ecg_id is None else ecg_id,
        date=values["date"],
        sampling_rate=values["sampling_rate"],
        leads=tuple(leads),
    )


def _leads(
    items: list[dict[str, Any] | None], sampling_rate: float | None, found: Findings
) -> list[Lead]:
    """The rules across a lead's fields and across leads."""
    limit = max_samples_per_lead(sampling_rate)
    leads: list[Lead] = []
    first_seen: dict[str, int] = {}
    for index, lead in enumerate(items):
        if lead is None:
            continue
        path = f"leads[{index}]"
        name, signal, count = lead["name"], lead["signal"], lead["number_of_samples"]
        if name is not None:
            if name in first_seen:
                found.add(
                    f"{path}.name",
                    f"duplicate lead {name!r}: leads[{first_seen[name]}] has the same name",
                )
            else:
                first_seen[name] = index
        if count is not None and signal is not None and count != signal.size:
            found.add(
                f"{path}.number_of_samples", f"is {count} but signal has {signal.size} samples"
            )
        if signal is not None and signal.size > limit:
            found.add(
                f"{path}.signal",
                f"has {signal.size} samples; an ECG has at most {limit} per lead "
                f"({MAX_ECG_SECONDS // 86400} days at its rate)",
            )
        if name is not None and signal is not None:
            leads.append(
                Lead(name=name, signal=signal, gain=lead["gain"], baseline=lead["baseline"])
            )
    return leads
