"""PostgreSQL's server binaries, and the user that runs the server.

Debian's ``postgresql`` package provides ``/usr/lib/postgresql/N/bin``; when it
is missing it is installed (as root, as on CI) without the system-wide cluster
the package would otherwise create. The server refuses to run as root, so as
root it runs as the ``postgres`` system user (created when absent).
"""

from __future__ import annotations

import glob
import os
import pwd
import subprocess
from pathlib import Path

from infra.processes import StartupError
from infra.system_packages import apt_install

SERVER_OS_USER = "postgres"  # when started as root


def server_bin_dir() -> Path:
    """``$ECG_POSTGRES_BIN_DIR``, else the newest /usr/lib/postgresql/N/bin,
    installing Debian's ``postgresql`` package when there is none."""
    explicit = os.environ.get("ECG_POSTGRES_BIN_DIR")
    if explicit:
        return Path(explicit)
    if not _installed():
        apt_install(["postgresql-common"], why="the PostgreSQL server binaries are missing")
        _no_default_cluster()
        apt_install(["postgresql"], why="the PostgreSQL server binaries are missing")
    found = _installed()
    if not found:
        raise StartupError("the postgresql package is installed but initdb is still missing")
    return found[-1]


def _installed() -> list[Path]:
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    return sorted(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def _no_default_cluster() -> None:
    """Stop the package from creating (and starting) a system-wide cluster."""
    conf = Path("/etc/postgresql-common/createcluster.conf")
    if conf.is_file():
        lines = conf.read_text().splitlines()
        kept = [line for line in lines if "create_main_cluster" not in line]
        conf.write_text("\n".join([*kept, "create_main_cluster = false"]) + "\n")


def server_os_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", SERVER_OS_USER],
            check=True,
        )
    return SERVER_OS_USER
