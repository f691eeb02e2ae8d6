"""The gateway's settings: read once from the environment into one frozen object.

This is the only module that reads ``os.environ``. Everything else receives a
``Settings`` from the composition root (``gateway.app.create_app``).

- ``ECG_ENV``: ``development`` (default), ``test`` or ``production``.
- ``ECG_KAFKA_BOOTSTRAP``: Kafka bootstrap servers; ``127.0.0.1:9092`` in development,
  required elsewhere.
- ``ECG_DATABASE_URL``: PostgreSQL URL, a secret (never in reprs or logs);
  ``postgresql://postgres@127.0.0.1:5432/ecg`` in development, required elsewhere.
- ``ECG_MAX_BODY_BYTES``: largest accepted upload body, default 64 MiB.
- ``ECG_CHUNK_BYTES``: raw sample bytes per Kafka message, default 256 KiB.
- ``ECG_PUBLISH_TIMEOUT_SECONDS``: how long an upload waits for Kafka to acknowledge
  every chunk, default 10.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit, urlunsplit

from schemas import topics

Environment = Literal["development", "test", "production"]
ENVIRONMENTS: Final[tuple[Environment, ...]] = ("development", "test", "production")

DEVELOPMENT_KAFKA_BOOTSTRAP: Final = "127.0.0.1:9092"
DEVELOPMENT_DATABASE_URL: Final = "postgresql://postgres@127.0.0.1:5432/ecg"

KIB: Final = 1024
MIB: Final = 1024 * KIB
# Kafka refuses messages above ~1 MB by default; keep room for the Avro header,
# the lead metadata and the record batch overhead.
MAX_CHUNK_BYTES: Final = MIB - 64 * KIB


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str
    database_url: str = field(repr=False)
    env: Environment = "development"
    max_body_bytes: int = 64 * MIB
    chunk_bytes: int = 256 * KIB
    publish_timeout_seconds: float = 10.0
    # Not read from the environment: the topic is part of the contract in
    # schemas.topics; tests point it at a topic of their own.
    samples_topic: str = topics.SAMPLES
    retry_after_seconds: int = 5
    kafka_request_timeout_seconds: float = 10.0
    kafka_linger_ms: int = 5
    kafka_reconnect_max_seconds: float = 30.0
    database_pool_size: int = 10
    database_timeout_seconds: float = 5.0
    health_timeout_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise SettingsError(f"ECG_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if not self.kafka_bootstrap.strip():
            raise SettingsError("ECG_KAFKA_BOOTSTRAP must not be empty")
        if urlsplit(self.database_url).scheme not in ("postgresql", "postgres"):
            raise SettingsError("ECG_DATABASE_URL must be a postgresql:// URL")
        if self.max_body_bytes < 1:
            raise SettingsError("ECG_MAX_BODY_BYTES must be positive")
        if not 1 * KIB <= self.chunk_bytes <= MAX_CHUNK_BYTES:
            raise SettingsError(f"ECG_CHUNK_BYTES must be between {KIB} and {MAX_CHUNK_BYTES}")
        if not self.publish_timeout_seconds > 0:
            raise SettingsError("ECG_PUBLISH_TIMEOUT_SECONDS must be positive")

    @property
    def redacted_database_url(self) -> str:
        return redact_url(self.database_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        env = source.get("ECG_ENV", "development")
        if env not in ENVIRONMENTS:
            raise SettingsError(f"ECG_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
        environment: Environment = env
        defaults = cls(
            kafka_bootstrap=DEVELOPMENT_KAFKA_BOOTSTRAP, database_url=DEVELOPMENT_DATABASE_URL
        )
        return cls(
            env=environment,
            kafka_bootstrap=_service(
                source, "ECG_KAFKA_BOOTSTRAP", DEVELOPMENT_KAFKA_BOOTSTRAP, environment
            ),
            database_url=_service(
                source, "ECG_DATABASE_URL", DEVELOPMENT_DATABASE_URL, environment
            ),
            max_body_bytes=_integer(source, "ECG_MAX_BODY_BYTES", defaults.max_body_bytes),
            chunk_bytes=_integer(source, "ECG_CHUNK_BYTES", defaults.chunk_bytes),
            publish_timeout_seconds=_number(
                source, "ECG_PUBLISH_TIMEOUT_SECONDS", defaults.publish_timeout_seconds
            ),
        )


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _service(source: Mapping[str, str], name: str, default: str, env: Environment) -> str:
    value = source.get(name, "").strip()
    if value:
        return value
    if env != "development":
        raise SettingsError(
            f"{name} must be set when ECG_ENV={env} (no default outside development)"
        )
    return default


def _integer(source: Mapping[str, str], name: str, default: int) -> int:
    text = source.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {text!r}") from None


def _number(source: Mapping[str, str], name: str, default: float) -> float:
    text = source.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {text!r}") from None
