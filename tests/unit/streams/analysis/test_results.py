"""``Measure`` writes its own ``__init__`` (for speed, see ``streams.analysis.measures``):
it must still behave as the frozen dataclass that ``dataclass`` would make of it, and
the results built of measures as before."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import numpy as np
import pytest

from streams.analysis.measures import NO_GAIN, Measure
from streams.analysis.quality import Quality
from streams.analysis.results import WindowResult, lead_result
from streams.analysis.rhythm import missing_rhythm

CLASSES: list[type[Any]] = [Measure]


@pytest.mark.parametrize("cls", CLASSES)
def test_init_takes_the_fields_in_order_and_sets_them(cls: type[Any]) -> None:
    fields = dataclasses.fields(cls)
    parameters = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in parameters] == [f.name for f in fields]
    assert [p.default for p in parameters] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields
    ]
    values = {f.name: object() for f in fields}
    instance = cls(**values)
    assert {name: getattr(instance, name) for name in values} == values
    assert repr(instance).startswith(f"{cls.__name__}(")


@pytest.mark.parametrize("cls", CLASSES)
def test_fields_cannot_be_assigned(cls: type[Any]) -> None:
    instance = cls(*(None for _ in dataclasses.fields(cls)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        instance.x = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instance, dataclasses.fields(cls)[0].name, 1)


def test_equality_hashing_and_replace_are_those_of_a_frozen_dataclass() -> None:
    lead = lead_result(3600, 40, 3600 * 900, (800, 1200), (200.0, 1024), Quality("good"))
    assert lead == dataclasses.replace(lead)
    assert hash(lead) == hash(dataclasses.replace(lead))
    assert lead != dataclasses.replace(lead, mean=Measure(0.0))
    assert Measure(1.5) == Measure(1.5)
    assert hash(Measure(1.5)) == hash(Measure(1.5))
    assert repr(Measure(2)) == "Measure(value=2, reason=None)"
    rhythm = missing_rhythm("no sampling rate")
    window = WindowResult(0, 0, 10, (lead,), np.zeros(0, dtype=np.int64), rhythm)
    twin = WindowResult(0, 0, 10, (lead,), window.beats, rhythm)
    assert window != twin  # eq=False: compared by identity, as the beats are an array
    assert dataclasses.asdict(window)["leads"][0]["minimum"] == {"value": 800, "reason": None}


def test_missing_measures_and_rhythms_are_shared_per_reason() -> None:
    assert Measure.missing(NO_GAIN) is Measure.missing(NO_GAIN)
    assert Measure.missing(NO_GAIN) == Measure(None, NO_GAIN)
    assert missing_rhythm("x") is missing_rhythm("x")
    rhythm = missing_rhythm("x")
    assert all(getattr(rhythm, f.name) == Measure(None, "x") for f in dataclasses.fields(rhythm))
