from __future__ import annotations

import pytest

from gateway.leads import LEAD_NAMES, canonical_lead_name


def test_vocabulary_is_the_documented_one() -> None:
    assert LEAD_NAMES == (
        "I", "II", "III", "aVR", "aVL", "aVF",
        "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9",
        "V3R", "V4R", "V5R", "V6R", "X", "Y", "Z", "MLI", "MLII", "MLIII",
    )  # fmt: skip


@pytest.mark.parametrize("name", LEAD_NAMES)
def test_every_name_is_found_in_any_case(name: str) -> None:
    assert canonical_lead_name(name) == name
    assert canonical_lead_name(name.lower()) == name
    assert canonical_lead_name(name.upper()) == name
    assert canonical_lead_name(name.swapcase()) == name


@pytest.mark.parametrize(
    ("given", "canonical"), [("avr", "aVR"), ("AVF", "aVF"), ("v3r", "V3R"), ("mlii", "MLII")]
)
def test_canonical_spelling(given: str, canonical: str) -> None:
    assert canonical_lead_name(given) == canonical


@pytest.mark.parametrize("name", ["V", "", "aVX", "V10", "V2R", "I ", " II", "ML", "lead I"])
def test_unknown_names(name: str) -> None:
    assert canonical_lead_name(name) is None
