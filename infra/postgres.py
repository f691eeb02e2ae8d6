"""A local PostgreSQL cluster from the distribution's server binaries.

The server refuses to run as root, so as root (CI) it runs as the ``postgres``
system user, which then owns the data directory. It listens on 127.0.0.1 only,
on a free port, with its socket directory next to the data.

Authentication is ``trust`` on purpose: a throwaway local development cluster,
reachable only from this machine (loopback and a private socket directory).
Never use these settings for a shared or production database.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra.postgres_install import server_os_user
from infra.processes import (
    Service,
    StartupError,
    await_start,
    spawn,
)

HOST = "127.0.0.1"
SUPERUSER = "postgres"  # the role in the URL, whoever runs the server
DATABASE = "ecg"
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class Cluster:
    bin_dir: Path
    base: Path  # holds data/ and socket/, owned by os_user
    os_user: str | None  # the user the server runs as; None: whoever runs infra

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


def database_url(port: int) -> str:
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{DATABASE}"


def prepare(run_dir: Path, bin_dir: Path) -> Cluster:
    """Create the cluster's directory, owned by the server's user. If that user
    cannot reach the run directory (e.g. a checkout under /root), use /tmp."""
    user = server_os_user()
    base = run_dir / "postgres"
    base.mkdir(mode=0o700)
    if user is not None:
        shutil.chown(base, user, user)
        if not _can_write(user, base):
            base.rmdir()
            base = Path(tempfile.mkdtemp(prefix="ecg-postgres-"))
            # traversable, not listable:
            os.chmod(base, 0o711)  # noqa: S103  # nosec B103
            shutil.chown(base, user, user)
    for sub in ("data", "socket"):
        (base / sub).mkdir(mode=0o700)
        if user is not None:
            shutil.chown(base / sub, user, user)
    return Cluster(bin_dir, base, user)


def _can_write(user: str, path: Path) -> bool:
    test = shutil.which("test") or "/usr/bin/test"
    return _run_as(user, [test, "-w", str(path), "-a", "-x", str(path)]).returncode == 0


def _run_as(
    user: str | None, argv: list[str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool as the server's user (pg_ctl refuses to run as root)."""
    return subprocess.run(
        argv,
        user=user,
        group=None if user is None else pwd.getpwnam(user).pw_gid,
        extra_groups=None if user is None else [],
        env=_server_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def _server_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


def initdb(cluster: Cluster, log: Path, *, parent_death_signal: int | None) -> Service:
    """Start creating the cluster; wait for it with ``processes.finish``."""
    argv = [cluster.tool("initdb"), "-D", str(cluster.data_dir), "-U", SUPERUSER]
    argv += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]
    return spawn(
        "initdb",
        argv,
        log=log,
        env=_server_env(),
        cwd=cluster.base,
        user=cluster.os_user,
        parent_death_signal=parent_death_signal,
        detached=False,
    )


def start_postgres(
    cluster: Cluster, port: int, log: Path, *, durable: bool, parent_death_signal: int | None
) -> Service:
    settings = {
        "listen_addresses": HOST,
        "port": str(port),
        "unix_socket_directories": str(cluster.base / "socket"),
        "max_connections": "200",
    }
    if not durable:  # test runs only: the cluster is thrown away afterwards
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    argv = [cluster.tool("postgres"), "-D", str(cluster.data_dir)]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    return spawn(
        "postgres",
        argv,
        log=log,
        env=_server_env(),
        cwd=cluster.base,
        user=cluster.os_user,
        parent_death_signal=parent_death_signal,
    )


def wait_for_postgres(cluster: Cluster, server: Service, port: int) -> None:
    """Bounded wait until the server accepts connections, judged as ``pg_ctl -w``
    does: by the status line of ``postmaster.pid``."""
    await_start(
        server,
        "PostgreSQL",
        lambda: _pid_file_says_ready(cluster, server.pid),
        timeout=READY_TIMEOUT,
        ports=f"port {port}",
        waited_for=f"accept connections on port {port}",
    )


def _pid_file_says_ready(cluster: Cluster, pid: int) -> bool:
    try:
        lines = (cluster.data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


def create_database(cluster: Cluster, port: int) -> None:
    argv = [cluster.tool("createdb"), "-h", HOST, "-p", str(port), "-U", SUPERUSER, DATABASE]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0:
        raise StartupError(f"createdb {DATABASE} failed: {result.stderr.strip()}")


def stop_postgres(cluster: Cluster) -> bool:
    """Fast shutdown (``pg_ctl stop -m fast``); False if pg_ctl could not do it."""
    if not (cluster.data_dir / "postmaster.pid").is_file():
        return True
    argv = [cluster.tool("pg_ctl"), "stop", "-D", str(cluster.data_dir), "-m", "fast", "-s"]
    argv += ["-w", "-t", "30"]
    try:
        return _run_as(cluster.os_user, argv, timeout=45).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
