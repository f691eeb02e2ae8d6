"""The run directory's env file and state.json hold the stack's signing key: readable by
their owner alone, whatever was there before."""

from __future__ import annotations

import stat
from pathlib import Path

from infra.state import ENV_FILE, STATE_FILE, State


def test_the_files_are_private_even_over_leftovers(tmp_path: Path) -> None:
    for name in (ENV_FILE, STATE_FILE):
        leftover = tmp_path / f"{name}.tmp"  # an earlier save, killed half-way
        leftover.write_text("")
        leftover.chmod(0o644)
    State(tmp_path, env={"ECG_JWT_SECRET": "k"}).save()
    for name in (ENV_FILE, STATE_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
        assert not (tmp_path / f"{name}.tmp").exists()
