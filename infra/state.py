"""What a running stack consists of, recorded in its run directory.

``state.json`` lists every process started (pid and start time), the ports,
the PostgreSQL cluster and the environment given to the services; it is
rewritten after each start, so ``python -m infra down`` can stop even a stack
whose ``up`` was interrupted half-way. ``env`` holds the same environment as
``export ECG_...=...`` lines for a shell (``. .run/env``).
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infra.postgres import Cluster
from infra.processes import Service
from infra.scale import Scale

STATE_FILE = "state.json"
ENV_FILE = "env"


@dataclass
class State:
    run_dir: Path
    services: list[Service] = field(default_factory=list)
    cluster: Cluster | None = None
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    ready: bool = False  # everything started and answered
    scale: Scale = field(default_factory=Scale)

    def record(self, service: Service) -> None:
        self.services.append(service)
        self.save()

    def forget(self, service: Service) -> None:
        self.services.remove(service)
        self.save()

    def to_json(self) -> dict[str, Any]:
        cluster = None
        if self.cluster is not None:
            cluster = {
                "bin_dir": str(self.cluster.bin_dir),
                "base": str(self.cluster.base),
                "os_user": self.cluster.os_user,
            }
        return {
            "services": [asdict(s) for s in self.services],
            "postgres": cluster,
            "ports": self.ports,
            "env": self.env,
            "ready": self.ready,
            "scale": asdict(self.scale),
        }

    def save(self) -> None:
        path = self.run_dir / STATE_FILE
        _write_private(path, json.dumps(self.to_json(), indent=2) + "\n")
        lines = [f"export {key}={shlex.quote(value)}\n" for key, value in self.env.items()]
        _write_private(self.run_dir / ENV_FILE, "".join(lines))

    @classmethod
    def load(cls, run_dir: Path) -> State | None:
        try:
            data = json.loads((run_dir / STATE_FILE).read_text())
        except FileNotFoundError:
            return None
        pg = data.get("postgres")
        cluster = None
        if pg is not None:
            cluster = Cluster(Path(pg["bin_dir"]), Path(pg["base"]), pg["os_user"])
        return cls(
            run_dir=run_dir,
            services=[Service(**s) for s in data.get("services", [])],
            cluster=cluster,
            ports={k: int(v) for k, v in data.get("ports", {}).items()},
            env={k: str(v) for k, v in data.get("env", {}).items()},
            ready=bool(data.get("ready", False)),
            scale=Scale(**data.get("scale", {})),
        )

    def discard(self) -> None:
        for name in (STATE_FILE, ENV_FILE):
            (self.run_dir / name).unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file only its owner can read: the
    environment holds the stack's token-signing key."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a leftover .tmp keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(temporary, path)
