"""The lead names of an imported file: a file's signal labels taken to the gateway's
vocabulary, or the names the user gives with ``--leads``.

The vocabulary is the gateway's (``gateway.leads``, which the client may not import:
the client talks to the server only over the wire); a unit test keeps the two equal.
A label is taken to a lead name only where nothing else is meant:

- any letter case, surrounding spaces, and the prefixes that EDF files put before the
  name (``ECG I``, ``EKG II``, ``ECG Lead V2``, ``ECG_V1``);
- a reference after the name (``V1-REF``, ``V1-AVG``, ``V1-WCT``: the unipolar leads'
  Wilson terminal, which the lead name implies);
- the spelled-out Frank leads of PTB (``vx``, ``vy``, ``vz``) and the French ``DI``,
  ``DII``, ``DIII``; ``ML II`` for ``MLII``.

Anything else (``ECG1``, ``Resp``, ``I-II``) is not guessed: the file's signals are then
named, in their order, with ``--leads MLII,V5``, where ``-`` skips a signal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

LEAD_NAMES: Final[tuple[str, ...]] = (
    "I", "II", "III", "aVR", "aVL", "aVF",
    "V1", "V2", "V3", "V4", "V5", "V6",
    "V7", "V8", "V9",
    "V3R", "V4R", "V5R", "V6R",
    "X", "Y", "Z",
    "MLI", "MLII", "MLIII",
)  # fmt: skip
SKIP: Final = "-"  # in --leads: leave this signal of the file out

_CANONICAL: Final = {name.casefold(): name for name in LEAD_NAMES}
_ALIASES: Final = {"vx": "X", "vy": "Y", "vz": "Z", "di": "I", "dii": "II", "diii": "III"}
_PREFIXES: Final = ("ecg", "ekg", "lead")
_REFERENCE: Final = re.compile(r"\s*-\s*(?:ref|avg|ave|wct)$")
_SEPARATORS: Final = re.compile(r"[\s_:]+")


class LeadNameError(ValueError):
    """A signal without a lead name, or names given that do not fit the file."""


def lead_name(label: str) -> str | None:
    """The canonical lead name that ``label`` stands for, or None when it is not one."""
    text = _REFERENCE.sub("", label.strip().casefold())
    words = [word for word in _SEPARATORS.split(text) if word]
    while words and words[0] in _PREFIXES:
        words = words[1:]
    if len(words) == 2 and words[0] == "ml":  # "ML II"
        words = ["ml" + words[1]]
    if len(words) != 1:
        return None
    return _ALIASES.get(words[0]) or _CANONICAL.get(words[0])


def name_signals(labels: Sequence[str], given: Sequence[str] | None) -> list[str | None]:
    """The lead name of each of a file's signals (None: left out), from ``given`` (the
    ``--leads`` names, ``-`` for a signal to leave out) or else from the labels."""
    if given is not None:
        names = _given_names(labels, given)
    else:
        names = []
        for index, label in enumerate(labels):
            name = lead_name(label)
            if name is None:
                raise LeadNameError(
                    f"signal {index} is labelled {label!r}, which is not a lead name "
                    f"({', '.join(LEAD_NAMES)}): name the file's {len(labels)} signals "
                    f"({', '.join(map(repr, labels))}) in their order with --leads "
                    f"NAME,NAME,... (- leaves a signal out)"
                )
            names.append(name)
    kept = [name for name in names if name is not None]
    if not kept:
        raise LeadNameError("--leads leaves every signal out")
    for name in kept:
        if kept.count(name) > 1:
            raise LeadNameError(
                f"two signals are lead {name}; name them apart with --leads NAME,NAME,..."
            )
    return names


def _given_names(labels: Sequence[str], given: Sequence[str]) -> list[str | None]:
    if len(given) != len(labels):
        raise LeadNameError(
            f"--leads names {len(given)} signals; the file has {len(labels)} "
            f"({', '.join(map(repr, labels))}): one name each, - to leave one out"
        )
    names: list[str | None] = []
    for text in given:
        if text.strip() == SKIP:
            names.append(None)
            continue
        name = _CANONICAL.get(text.strip().casefold())
        if name is None:
            raise LeadNameError(
                f"--leads: {text!r} is not a lead name; the gateway takes "
                f"{', '.join(LEAD_NAMES)} (any case), and - leaves a signal out"
            )
        names.append(name)
    return names
