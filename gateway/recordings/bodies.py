"""The upload body, checked and turned into an ``Upload`` with one numpy array per lead.

Rules (every broken one is reported, with its field path, in one 422):

- top level: ``date`` (required), ``leads`` (required, non-empty), ``id`` (optional
  UUID, generated when absent), ``sampling_rate`` (optional number, 0 < Hz <= 100000);
- each lead: ``name`` (required, see ``gateway.leads``, no duplicates), ``signal``
  (required, non-empty array of JSON integers in the signed 32-bit range),
  ``number_of_samples`` (optional, must equal the signal's length), ``gain``
  (optional number > 0, ADC units per mV), ``baseline`` (optional integer, int32);
- ``date`` is ISO 8601; a trailing ``Z`` is accepted, a date-time without an
  offset is taken as UTC, and a date alone means its midnight UTC;
- ``id`` must be the hyphenated 8-4-4-4-12 form (any case); it is kept lower-case;
- ``null`` for an optional field means the same as leaving it out;
- unknown fields are errors, so that a typo (``numberOfSamples``) is not silently dropped.

Signals are checked by ``gateway.signals``, without a Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final
from uuid import UUID, uuid4

import numpy as np
from numpy.typing import NDArray

from gateway.body import decode_json
from gateway.errors import describe
from gateway.fields import Findings, check_fields, ecg_header, lead_name, positive_number
from gateway.signals import INT32_RANGE, SignalError, to_signal
from gateway.uploads import Lead, Upload
from schemas.codec import INT32_MAX, INT32_MIN

UPLOAD_FIELDS: Final = ("id", "date", "sampling_rate", "leads")
LEAD_FIELDS: Final = ("name", "number_of_samples", "signal", "gain", "baseline")


def parse_upload(body: bytes | bytearray, new_id: Callable[[], UUID] = uuid4) -> Upload:
    return validate_upload(decode_json(body), new_id)


def validate_upload(document: Mapping[str, Any], new_id: Callable[[], UUID] = uuid4) -> Upload:
    found = Findings()
    check_fields(document, "", UPLOAD_FIELDS, found)
    ecg_id, date, sampling_rate = ecg_header(document, found)
    leads = _leads(document.get("leads"), found)
    found.raise_if_any()
    assert date is not None
    return Upload(
        id=new_id() if ecg_id is None else ecg_id,
        date=date,
        sampling_rate=sampling_rate,
        leads=tuple(leads),
    )


def _int32(value: object, path: str, found: Findings) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        found.add(path, f"expected an integer, got {describe(value)}")
        return None
    if not INT32_MIN <= value <= INT32_MAX:
        found.add(path, f"must be within the signed 32-bit range {INT32_RANGE}, got {value}")
        return None
    return value


def _leads(value: object, found: Findings) -> list[Lead]:
    if value is None:
        found.add("leads", "is required")
        return []
    if not isinstance(value, list):
        found.add("leads", f"expected an array of lead objects, got {describe(value)}")
        return []
    if not value:
        found.add("leads", "must contain at least one lead")
        return []
    leads: list[Lead] = []
    first_seen: dict[str, int] = {}
    for index, item in enumerate(value):
        path = f"leads[{index}]"
        name, lead = _lead(item, path, found)
        if name is not None:
            if name in first_seen:
                found.add(
                    f"{path}.name",
                    f"duplicate lead {name!r}: leads[{first_seen[name]}] has the same name",
                )
            else:
                first_seen[name] = index
        if lead is not None:
            leads.append(lead)
    return leads


def _lead(item: object, path: str, found: Findings) -> tuple[str | None, Lead | None]:
    if not isinstance(item, dict):
        found.add(path, f"expected a lead object, got {describe(item)}")
        return None, None
    before = len(found)
    check_fields(item, path, LEAD_FIELDS, found)
    name = lead_name(item.get("name"), f"{path}.name", found)
    signal = _signal(item.get("signal"), f"{path}.signal", found)
    _number_of_samples(item.get("number_of_samples"), signal, f"{path}.number_of_samples", found)
    gain = positive_number(item.get("gain"), f"{path}.gain", found)
    baseline = _int32(item.get("baseline"), f"{path}.baseline", found)
    if len(found) > before or name is None or signal is None:
        return name, None
    return name, Lead(name=name, signal=signal, gain=gain, baseline=baseline)


def _number_of_samples(
    value: object, signal: NDArray[np.int32] | None, path: str, found: Findings
) -> None:
    if value is None:
        return
    if type(value) is not int or value < 0:
        found.add(path, f"expected a non-negative integer, got {describe(value)}")
    elif signal is not None and value != signal.size:
        found.add(path, f"is {value} but signal has {signal.size} samples")


def _signal(value: object, path: str, found: Findings) -> NDArray[np.int32] | None:
    if value is None:
        found.add(path, "is required")
        return None
    try:
        return to_signal(value)
    except SignalError as error:
        found.add(path if error.index is None else f"{path}[{error.index}]", str(error))
        return None
