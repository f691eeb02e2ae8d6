"""What the client reads from the environment, once, into one frozen object.

This is the only module of ``client`` that reads ``os.environ``; the command-line
options override what it gives.

- ``ECG_ENV``: ``development`` (default), ``test`` or ``production``, as for the
  pipeline: outside development nothing falls back to a local default.
- ``ECG_GATEWAY_URL``: the gateway, ``http://127.0.0.1:8000`` by default.
- ``ECG_KAFKA_BOOTSTRAP``: Kafka, for ``ecg tail`` and the window latency of
  ``ecg simulate``; ``127.0.0.1:9092`` in development, else unset.
- ``ECG_PASSWORD``: the password of ``ecg simulate``'s user, a secret (never in reprs).
- ``ECG_WINDOW_SECONDS``: the stream workers' window, 10 s by default.
- ``XDG_STATE_HOME`` (else ``HOME``/.local/state): where ``ecg import`` keeps the state
  of its imports, in ``ecg-pipeline/imports``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

ENVIRONMENTS: Final = ("development", "test", "production")
DEVELOPMENT_KAFKA_BOOTSTRAP: Final = "127.0.0.1:9092"
DEFAULT_GATEWAY_URL: Final = "http://127.0.0.1:8000"
DEFAULT_WINDOW_SECONDS: Final = 10.0


class SettingsError(ValueError):
    """A variable is malformed, or missing where it has no default: reported in one line."""


@dataclass(frozen=True)
class ClientSettings:
    env: str = "development"
    gateway_url: str = DEFAULT_GATEWAY_URL
    kafka_bootstrap: str | None = DEVELOPMENT_KAFKA_BOOTSTRAP
    password: str | None = field(default=None, repr=False)
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    import_state_dir: Path | None = None  # None: no home to keep it in

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSettings:
        source = os.environ if environ is None else environ
        env = source.get("ECG_ENV", "development")
        if env not in ENVIRONMENTS:
            raise SettingsError(f"ECG_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
        local = env == "development"
        return cls(
            env=env,
            gateway_url=_text(source, "ECG_GATEWAY_URL") or DEFAULT_GATEWAY_URL,
            kafka_bootstrap=_text(source, "ECG_KAFKA_BOOTSTRAP")
            or (DEVELOPMENT_KAFKA_BOOTSTRAP if local else None),
            password=source.get("ECG_PASSWORD") or None,
            window_seconds=_window_seconds(source),
            import_state_dir=_import_state_dir(source),
        )

    def require_kafka_bootstrap(self) -> str:
        if self.kafka_bootstrap is None:
            raise SettingsError(
                f"ECG_KAFKA_BOOTSTRAP must be set when ECG_ENV={self.env} "
                "(no default outside development)"
            )
        return self.kafka_bootstrap


def _text(source: Mapping[str, str], name: str) -> str | None:
    return source.get(name, "").strip() or None


def _window_seconds(source: Mapping[str, str]) -> float:
    text = _text(source, "ECG_WINDOW_SECONDS")
    try:
        return float(text) if text else DEFAULT_WINDOW_SECONDS
    except ValueError:
        raise SettingsError(f"ECG_WINDOW_SECONDS must be a number, got {text!r}") from None


def _import_state_dir(source: Mapping[str, str]) -> Path | None:
    """The XDG base directory for state (an absolute ``XDG_STATE_HOME``, else
    ``$HOME/.local/state``), ``ecg-pipeline/imports`` in it."""
    state = _text(source, "XDG_STATE_HOME")
    home = _text(source, "HOME")
    if state is None or not Path(state).is_absolute():
        state = None if home is None else str(Path(home) / ".local" / "state")
    return None if state is None else Path(state) / "ecg-pipeline" / "imports"
