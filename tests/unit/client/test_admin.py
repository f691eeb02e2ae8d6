"""``ecg create-admin`` on the client's side: it hands its arguments to the gateway's
command unparsed, or says in one line that there is no gateway here
(tests/integration/gateway/test_admin.py runs the whole command)."""

from __future__ import annotations

import sys

import pytest

from client.admin import hand_over


def test_the_arguments_go_to_the_gateways_command_unchanged() -> None:
    calls: list[tuple[str, list[str]]] = []
    args = ["--email", "a@example.org", "--password-stdin"]
    hand_over(args, lambda path, argv: calls.append((path, argv)))
    assert calls == [(sys.executable, [sys.executable, "-m", "gateway.admin", *args])]


def test_without_the_gateway_it_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[object] = []
    code = hand_over(["--help"], lambda *call: calls.append(call), module="no_such_package.admin")
    assert (code, calls) == (1, [])
    err = capsys.readouterr().err
    assert err.startswith("ecg create-admin: needs the gateway package")
    assert err.count("\n") == 1
