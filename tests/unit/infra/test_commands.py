"""What `python -m infra up` prints once the stack is ready: every variable of the
stack but its secrets, which stay in the run directory's env file."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from infra.commands import _announce, shown
from infra.state import State

KEY = secrets.token_urlsafe(32)


def test_up_prints_the_url_and_the_variables_but_never_the_signing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = State(
        tmp_path,
        env={
            "ECG_ENV": "development",
            "ECG_GATEWAY_URL": "http://127.0.0.1:41231",
            "ECG_KAFKA_BOOTSTRAP": "127.0.0.1:40001",
            "ECG_DATABASE_URL": "postgresql://ecg:pg-pass-123@127.0.0.1:40002/ecg",
            "ECG_JWT_SECRET": KEY,
        },
    )
    state.save()
    _announce(state)
    out, err = capsys.readouterr()
    assert out == "http://127.0.0.1:41231\n"
    assert KEY not in out + err
    assert "pg-pass-123" not in out + err
    assert "ECG_KAFKA_BOOTSTRAP=127.0.0.1:40001" in err
    assert f"ECG_JWT_SECRET=(hidden: in {tmp_path / 'env'})" in err
    assert f"export ECG_JWT_SECRET={KEY}\n" in (tmp_path / "env").read_text()


@pytest.mark.parametrize(
    ("name", "value", "printed"),
    [
        ("ECG_JWT_SECRET", KEY, "(hidden: in env)"),
        ("ECG_PASSWORD", "hunter2", "(hidden: in env)"),
        ("ECG_DATABASE_URL", "postgresql://u:p4ss@h:5432/d", "postgresql://u:***@h:5432/d"),
        (
            "ECG_DATABASE_URL",
            "postgresql://postgres@h:5432/ecg",
            "postgresql://postgres@h:5432/ecg",
        ),
        ("ECG_KAFKA_BOOTSTRAP", "h1:9092,h2:9092", "h1:9092,h2:9092"),
        ("ECG_TRUSTED_PROXIES", "::1,127.0.0.1", "::1,127.0.0.1"),
    ],
)
def test_secrets_are_hidden(name: str, value: str, printed: str) -> None:
    assert shown(name, value, Path("env")) == printed
