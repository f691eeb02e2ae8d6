"""Install missing Debian packages with apt-get (needs root, as on CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from infra.processes import StartupError

_updated = False


def apt_install(packages: Sequence[str], *, why: str) -> None:
    """``apt-get install -y`` the packages, or explain what to install by hand."""
    global _updated
    wanted = " ".join(packages)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StartupError(
            f"{why}; install the Debian package(s) `{wanted}` "
            f"(e.g. `sudo apt-get install {wanted}`), then try again"
        )
    print(f"infra: {why}: installing {wanted} with apt-get", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands = [] if _updated else [["apt-get", "update", "-q"]]
    commands.append(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages])
    for command in commands:
        result = subprocess.run(command, env=env, stdout=sys.stderr, check=False, timeout=1200)
        if result.returncode != 0:
            raise StartupError(f"`{' '.join(command)}` failed (exit {result.returncode})")
    _updated = True
