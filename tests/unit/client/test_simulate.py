"""``ecg simulate`` before any request: its arguments, the password's sources, the plan
made from a WFDB record, and the chunks cut from it."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pytest

from client.cli import main
from client.devices import chunk_signal
from client.settings import ClientSettings
from client.simulate import UsageError, _password, add_arguments, run
from client.simulation import SimulationError, SimulationOptions, make_plan
from tests.conftest import DATA

RECORD_100 = DATA / "mitdb" / "100"


def options(**changes: object) -> SimulationOptions:
    fields: dict[str, object] = {"record": RECORD_100, "email": "u@example.org", "password": "pw"}
    fields.update(changes)
    return SimulationOptions(**fields)  # type: ignore[arg-type]


def test_the_password_comes_from_stdin_or_the_environment_never_an_argument() -> None:
    assert _password(True, "u@x", io.StringIO("pass phrase\n"), None) == "pass phrase"
    assert _password(False, "u@x", io.StringIO(""), "env pw") == "env pw"
    with pytest.raises(UsageError, match="--password-stdin or ECG_PASSWORD"):
        _password(False, "u@x", io.StringIO(""), None)
    with pytest.raises(UsageError, match="empty"):
        _password(True, "u@x", io.StringIO("\n"), None)


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "rec"],  # no --email
        ["simulate", "rec", "--email", "u@x", "--devices", "0"],
        ["simulate", "rec", "--email", "u@x", "--speed", "fast"],
        ["simulate", "rec", "--email", "u@x", "--speed", "-1"],
        ["simulate", "rec", "--email", "u@x", "--duration", "0"],
        ["simulate", "rec", "--email", "u@x", "--transport", "carrier-pigeon"],
        ["simulate", "rec", "--email", "u@x", "--format", "xml"],
        ["simulate", "rec", "--email", "u@x", "--rate", "0"],
        ["simulate", "rec", "--email", "u@x", "--leads", "0"],
        ["simulate", "rec", "--email", "u@x", "--password", "on-the-command-line"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2


def test_an_unreadable_record_is_one_line_and_exit_1(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(tmp_path / "nothing"), "--email", "u@x", "--password-stdin"])
    out, err = io.StringIO(), io.StringIO()
    settings = ClientSettings.from_env({})
    assert run(args, settings, io.StringIO("a password\n"), out, err) == 1
    assert err.getvalue().startswith("ecg simulate: cannot read the WFDB record")
    assert "a password" not in err.getvalue()
    assert out.getvalue() == ""


def test_options_are_checked() -> None:
    with pytest.raises(SimulationError, match="--devices"):
        options(devices=0)
    with pytest.raises(SimulationError, match="--transport"):
        options(transport="carrier-pigeon")
    with pytest.raises(SimulationError, match="--format"):
        options(chunk_format="xml")
    with pytest.raises(SimulationError, match="--rate"):
        options(sampling_rate=0.0)
    with pytest.raises(SimulationError, match="--leads"):
        options(leads=0)
    with pytest.raises(SimulationError, match="3 were asked for"):
        make_plan(options(leads=3))
    assert "pw" not in repr(options())


def test_a_plan_times_chunks_from_the_record_and_removes_the_adc_zero() -> None:
    plan = make_plan(options(duration_seconds=20, speed=20, chunk_seconds=0.5, devices=3))
    assert plan.leads == ("MLII", "V5")
    assert plan.sampling_rate == 360
    assert plan.total_samples == 7200
    assert plan.chunk_samples == 180
    assert plan.period == pytest.approx(0.5 / 20)
    assert len(plan.bounds) == 40
    assert abs(float(np.median(plan.signals[0]))) < 100  # ADC zero 1024 taken off
    whole = make_plan(options(speed=0))
    assert whole.total_samples == 650_000
    assert whole.period == 0


def test_a_12_lead_500_hz_device_from_ptb() -> None:
    plan = make_plan(
        options(record=DATA / "ptbdb" / "s0010_re", sampling_rate=500.0, leads=12, speed=0)
    )
    assert plan.sampling_rate == 500
    assert len(plan.leads) == 12
    assert plan.signals.shape == (12, 19_200)
    assert plan.chunk_samples == 500
    assert plan.total_samples == 19_200


def test_chunks_wrap_around_the_end_of_the_record() -> None:
    signals = np.arange(10, dtype=np.int32).reshape(2, 5)
    assert chunk_signal(signals, 1, 3).tolist() == [[1, 2], [6, 7]]
    assert chunk_signal(signals, 3, 8).tolist() == [[3, 4, 0, 1, 2], [8, 9, 5, 6, 7]]
    assert chunk_signal(signals, 10, 12).tolist() == [[0, 1], [5, 6]]  # the third pass
