"""``ecg create-admin`` (``gateway.admin``) up to the database: arguments, password input
and policy (tests/integration/gateway/test_admin.py runs it against PostgreSQL)."""

from __future__ import annotations

import io

import pytest

from gateway.admin import CommandError, _read_password, create_admin, main

NOWHERE = "postgresql://nobody@127.0.0.1:1/none"  # never reached: the checks come first


@pytest.mark.parametrize(
    ("email", "password", "problem"),
    [
        ("root", "a-long-enough-passphrase", "--email"),
        ("admin@example.org", "short", "8 to 128"),
        ("admin@example.org", "password1", "common"),
        ("admin@example.org", "admin@example.org", "email"),
    ],
)
async def test_bad_input_is_refused_before_the_database(
    email: str, password: str, problem: str
) -> None:
    with pytest.raises(CommandError, match=problem):
        await create_admin(NOWHERE, email, password)


def test_the_password_comes_from_stdins_first_line() -> None:
    assert _read_password(True, io.StringIO("s3cret passphrase\nrest\n")) == "s3cret passphrase"


def test_without_a_terminal_the_password_must_come_from_stdin() -> None:
    with pytest.raises(CommandError, match="--password-stdin"):
        _read_password(False, io.StringIO(""))


def test_weak_password_exits_1_without_echoing_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECG_DATABASE_URL", NOWHERE)  # production needs one, unless said otherwise
    assert main(["--email", "admin@example.org", "--password", "letmein1"]) == 1
    captured = capsys.readouterr()
    assert "common" in captured.err
    assert "letmein1" not in captured.err + captured.out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--password", "a long passphrase"],
        ["--email", "a@example.org", "--password", "x", "--password-stdin"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
