"""Find a Compose command line (``docker compose`` or ``docker-compose``); install
Debian's ``docker-compose`` package when there is neither. ``config`` needs no
Docker engine, so the compose file can be validated on any machine."""

from __future__ import annotations

import shutil
import subprocess

from infra.system_packages import apt_install


def compose_command() -> list[str] | None:
    if shutil.which("docker") is not None:
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=60
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose") is not None:
        return ["docker-compose"]
    return None


def ensure_compose_command() -> list[str]:
    found = compose_command()
    if found is None:
        apt_install(["docker-compose"], why="neither `docker compose` nor `docker-compose` exists")
        found = compose_command()
    if found is None:
        raise RuntimeError("docker-compose was installed but is still not on PATH")
    return found
