"""``ecg``'s own arguments: the commands, and ``ecg tail``'s options (``ecg simulate``'s
are in test_simulate.py)."""

from __future__ import annotations

import pytest

from client.cli import main


@pytest.mark.parametrize("argv", [[], ["serve"], ["tail", "--what"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2


@pytest.mark.parametrize("option", ["--max-messages=0", "--timeout=-1", "--ecg=42"])
def test_tail_refuses_bad_options(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["tail", option])
    assert exit_.value.code == 2
    assert option.split("=")[0] in capsys.readouterr().err
