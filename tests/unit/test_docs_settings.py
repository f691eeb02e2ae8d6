"""docs/settings.md has one table of every setting: each variable that the gateway's or
the stream worker's settings module reads is a row of it."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTINGS_MODULES = ("gateway/settings.py", "streams/settings.py")


def read_variables() -> set[str]:
    names: set[str] = set()
    for module in SETTINGS_MODULES:
        names |= set(re.findall(r'"(ECG_[A-Z0-9_]+)"', (REPO / module).read_text()))
    return names


def documented_variables() -> set[str]:
    rows = [
        line.split("|")[1]
        for line in (REPO / "docs" / "settings.md").read_text().splitlines()
        if line.startswith("| `ECG_")
    ]
    return {name for row in rows for name in re.findall(r"`(ECG_[A-Z0-9_]+)`", row)}


def test_every_setting_is_in_the_table() -> None:
    read = read_variables()
    assert "ECG_JWT_SECRET" in read
    assert "ECG_SINK_BATCH_SIZE" in read
    missing = read - documented_variables()
    assert not missing, f"docs/settings.md's table lacks {sorted(missing)}"
