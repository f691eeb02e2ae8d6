"""The lead names the gateway accepts, matched case-insensitively and kept in
their canonical spelling: the 12 standard leads, the posterior (V7-V9) and right
precordial (V3R-V6R) leads, Frank's orthogonal X, Y, Z, and the modified limb
leads MLI-MLIII that Holter databases such as MIT-BIH use."""

from __future__ import annotations

from typing import Final

LEAD_NAMES: Final[tuple[str, ...]] = (
    "I", "II", "III", "aVR", "aVL", "aVF",
    "V1", "V2", "V3", "V4", "V5", "V6",
    "V7", "V8", "V9",
    "V3R", "V4R", "V5R", "V6R",
    "X", "Y", "Z",
    "MLI", "MLII", "MLIII",
)  # fmt: skip

_CANONICAL: Final[dict[str, str]] = {name.casefold(): name for name in LEAD_NAMES}


def canonical_lead_name(name: str) -> str | None:
    """The canonical spelling of ``name`` (``"avr"`` -> ``"aVR"``), or None if unknown."""
    return _CANONICAL.get(name.casefold())
