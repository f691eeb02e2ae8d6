"""A record taken to another rate and to its first leads: the shape, the metadata and
the waveform (a sine well below both Nyquist frequencies comes through)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from client.resampling import resample_record
from client.wfdb import Record, read_record


def sine_record(rate: float = 1000.0, seconds: float = 4.0, leads: int = 3) -> Record:
    t = np.arange(round(rate * seconds)) / rate
    rows = [1024 + np.rint(400 * np.sin(2 * np.pi * (2 + lead) * t)) for lead in range(leads)]
    return Record(
        name="sine",
        sampling_rate=rate,
        lead_names=[f"lead{i}" for i in range(leads)],
        gains=[200.0 + i for i in range(leads)],
        baselines=[1024] * leads,
        signals=np.asarray(rows, dtype=np.int32),
    )


def test_halving_the_rate_keeps_the_waveform_and_the_first_leads() -> None:
    record = sine_record()
    halved = resample_record(record, 500.0, 2)
    assert halved.sampling_rate == 500.0
    assert halved.lead_names == ["lead0", "lead1"]
    assert halved.gains == [200.0, 201.0]
    assert halved.baselines == [1024, 1024]
    assert halved.signals.shape == (2, 2000)
    assert halved.signals.dtype == np.int32
    # Away from the edges, every other sample of the original, within rounding.
    inner = slice(100, 1900)
    error = np.abs(halved.signals[:, inner] - record.signals[:2, ::2][:, inner])
    assert error.max() <= 2


def test_a_non_integer_ratio_gives_the_expected_length() -> None:
    resampled = resample_record(sine_record(rate=360.0, seconds=10.0, leads=1), 500.0)
    assert resampled.signals.shape == (1, 5000)
    t = np.arange(5000) / 500.0
    expected = 1024 + 400 * np.sin(2 * np.pi * 2 * t)
    assert np.abs(resampled.signals[0, 500:4500] - expected[500:4500]).max() <= 3


def test_without_a_rate_only_the_leads_change() -> None:
    record = sine_record()
    same = resample_record(record, None, 1)
    assert same.sampling_rate == 1000.0
    np.testing.assert_array_equal(same.signals, record.signals[:1])


@pytest.mark.parametrize(("rate", "leads"), [(500.0, 0), (500.0, 4), (0.0, 1), (-1.0, 1)])
def test_impossible_requests_are_refused(rate: float, leads: int) -> None:
    with pytest.raises(ValueError, match=r"leads|rate"):
        resample_record(sine_record(), rate, leads)


def test_ptb_s0010_re_makes_a_12_lead_500_hz_device(data_dir: Path) -> None:
    record = resample_record(read_record(data_dir / "ptbdb" / "s0010_re"), 500.0, 12)
    assert record.signals.shape == (12, 19_200)
    assert record.lead_names[:3] == ["i", "ii", "iii"]
    assert record.lead_names[-1] == "v6"
