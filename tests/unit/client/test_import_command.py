"""``ecg import``'s command line before any request: its arguments, and the mistakes it
reports in one line (exit 1) before it logs in."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from client.cli import main
from client.importing.command import add_arguments, run
from client.settings import ClientSettings
from tests.conftest import DATA

RECORD_100 = str(DATA / "mitdb" / "100")


def command(argv: list[str], settings: ClientSettings, stdin: str = "") -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run(parser.parse_args(argv), settings, io.StringIO(stdin), stdout, stderr)
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def settings(tmp_path: Path) -> ClientSettings:
    # Nothing listens at port 1: a test that got as far as a request would fail there.
    return ClientSettings(gateway_url="http://127.0.0.1:1", import_state_dir=tmp_path)


@pytest.mark.parametrize(
    "argv",
    [
        ["import", "--email", "u@x"],
        ["import", RECORD_100],
        ["import", RECORD_100, "--email", "u@x", "--max-upload-bytes", "-1"],
        ["import", RECORD_100, "--email", "u@x", "--date", "yesterday"],
        ["import", RECORD_100, "--email", "u@x", "--format", "mat"],
        ["import", RECORD_100, "--email", "u@x", "--password", "on the command line"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2


def test_csv_options_need_a_csv_file(settings: ClientSettings) -> None:
    status, out, err = command([RECORD_100, "--email", "u@x", "--gain", "200"], settings)
    assert (status, out) == (1, "")
    assert "--sampling-rate, --gain and --baseline are for CSV files" in err


def test_a_label_that_is_no_lead_stops_every_file_before_any_request(
    settings: ClientSettings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ECG1,ECG2\n1,2\n")
    argv = [RECORD_100, str(bad), "--email", "u@x", "--sampling-rate", "250"]
    status, out, err = command(argv, settings, stdin="pw\n")
    assert (status, out) == (1, "")
    assert f"ecg import: {bad}: signal 0 is labelled 'ECG1'" in err
    assert "--leads" in err


def test_the_password_is_never_an_argument(settings: ClientSettings) -> None:
    status, _, err = command([RECORD_100, "--email", "u@x"], settings)
    assert status == 1
    assert "give the password with --password-stdin or ECG_PASSWORD" in err


def test_without_a_home_the_state_needs_a_directory() -> None:
    status, _, err = command([RECORD_100, "--email", "u@x"], ClientSettings())
    assert status == 1
    assert "give --state-dir" in err


def test_the_format_option_overrides_the_suffix(settings: ClientSettings) -> None:
    argv = [RECORD_100, "--email", "u@x", "--password-stdin", "--format", "edf"]
    status, _, err = command(argv, settings, stdin="pw\n")
    assert status == 1
    assert "not a readable EDF file" in err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["import", "--help"])
    assert raised.value.code == 0
    out = capsys.readouterr().out
    for option in ("--leads", "--sampling-rate", "--gain", "--max-upload-bytes", "--state-dir"):
        assert option in out
