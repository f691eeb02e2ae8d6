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
- ``ECG_KAFKA_MAX_PENDING_BYTES``: bytes of messages that may wait for Kafka's
  acknowledgement before uploads and chunks are refused with 503, default 128 MiB.
- ``ECG_DATABASE_POOL_SIZE``: PostgreSQL connections per gateway process, default 10;
  a stream's chunk holds one for its Kafka round trip (``gateway.devices.repository``).
- ``ECG_JWT_SECRET``: the HS256 token-signing key, a secret (never in reprs or logs): at
  least 32 bytes from a random source, e.g. ``python -c "import secrets;
  print(secrets.token_urlsafe(48))"``. Outside development a missing, short, low-entropy
  or placeholder-looking key stops the service; in development a missing key becomes a
  random one per process (tokens then die with the process) and the lifespan warns.
- ``ECG_JWT_ISSUER``: the tokens' ``iss``, default ``ecg-pipeline``.
- ``ECG_ACCESS_TOKEN_SECONDS`` (default 900), ``ECG_REFRESH_TOKEN_SECONDS`` (default
  86400, sliding) and ``ECG_SESSION_SECONDS`` (default 14 days: the absolute lifetime
  of a login and of every refresh token descended from it).
- ``ECG_INGEST_TOKEN_SECONDS``: how long the ingest token of a stream works, default
  86400 (a day of recording); it is not tied to a login, so a device keeps streaming
  when the app that opened the stream logs out.
- ``ECG_PASSWORD_HASH_CONCURRENCY``: Argon2id computations at once, default 2; each
  holds ``gateway.accounts.passwords.ARGON2`` memory (32 MiB).
"""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
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

MIN_JWT_SECRET_BYTES: Final = 32  # HS256: a key at least as long as the hash (RFC 7518 3.2)
MIN_JWT_SECRET_BITS: Final = 128  # estimated from the key's own character frequencies
# Keys that are meant to be replaced: "changeme", "your-256-bit-secret" (jwt.io), ...
PLACEHOLDER_WORDS: Final = (
    "secret",
    "change",
    "default",
    "example",
    "placeholder",
    "password",
    "insecure",
)
JWT_AUDIENCE: Final = "ecg-pipeline-api"
DAY: Final = 24 * 3600
# A WebSocket's position is written at least this often: well within the pipeline's
# idle timeout (ECG_STREAM_IDLE_SECONDS, 300 s by default), so that the tail of a
# silent stream is counted long before it is closed.
MAX_STREAM_PERSIST_SECONDS: Final = 60.0


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
    # Bytes of messages per partition in one produce request. aiokafka's default (16 KiB)
    # holds one 12-lead second, so every chunk was a request of its own and the next one
    # of its partition waited for it; the broker takes batches up to 1 MiB.
    kafka_max_batch_bytes: int = 512 * KIB
    # Bytes of messages that may wait for Kafka's acknowledgement before sends are
    # refused with 503 (see gateway.publisher.Backpressure).
    kafka_max_pending_bytes: int = 128 * MIB
    kafka_reconnect_max_seconds: float = 30.0
    database_pool_size: int = 10
    # How often a stream's WebSocket writes its position (gateway.devices.leases): at
    # the latest every so many seconds, or every so many chunks.
    stream_persist_seconds: float = 5.0
    stream_persist_chunks: int = 50
    database_timeout_seconds: float = 5.0
    health_timeout_seconds: float = 2.0
    jwt_secret: str = field(default="", repr=False)
    jwt_issuer: str = "ecg-pipeline"
    jwt_audience: str = JWT_AUDIENCE
    access_token_seconds: int = 15 * 60
    refresh_token_seconds: int = DAY
    session_seconds: int = 14 * DAY
    ingest_token_seconds: int = DAY
    password_hash_concurrency: int = 2
    # True when no key was given in development and a random one was made up.
    jwt_secret_generated: bool = field(default=False, init=False, compare=False)

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
        if self.database_pool_size < 1:
            raise SettingsError("ECG_DATABASE_POOL_SIZE must be positive")
        if not 0 < self.stream_persist_seconds <= MAX_STREAM_PERSIST_SECONDS:
            raise SettingsError(
                "ECG_STREAM_PERSIST_SECONDS must be above 0 and at most "
                f"{MAX_STREAM_PERSIST_SECONDS:g}"
            )
        if self.stream_persist_chunks < 1:
            raise SettingsError("ECG_STREAM_PERSIST_CHUNKS must be positive")
        if self.kafka_max_pending_bytes < MIB:
            raise SettingsError("ECG_KAFKA_MAX_PENDING_BYTES must be at least 1 MiB (1048576)")
        self._check_tokens()
        if self.password_hash_concurrency < 1:
            raise SettingsError("ECG_PASSWORD_HASH_CONCURRENCY must be positive")

    def _check_tokens(self) -> None:
        if not self.jwt_secret:
            if self.env != "development":
                raise SettingsError(
                    f"ECG_JWT_SECRET must be set when ECG_ENV={self.env} "
                    "(no default key outside development)"
                )
            object.__setattr__(self, "jwt_secret", secrets.token_urlsafe(48))
            object.__setattr__(self, "jwt_secret_generated", True)
        weakness = jwt_secret_weakness(self.jwt_secret)
        if weakness is not None and self.env != "development":
            raise SettingsError(f"ECG_JWT_SECRET is unfit for ECG_ENV={self.env}: {weakness}")
        if not self.jwt_issuer.strip():
            raise SettingsError("ECG_JWT_ISSUER must not be empty")
        if not 0 < self.access_token_seconds <= self.refresh_token_seconds:
            raise SettingsError(
                "ECG_ACCESS_TOKEN_SECONDS must be positive and at most ECG_REFRESH_TOKEN_SECONDS"
            )
        if not self.refresh_token_seconds <= self.session_seconds:
            raise SettingsError("ECG_REFRESH_TOKEN_SECONDS must be at most ECG_SESSION_SECONDS")
        if self.ingest_token_seconds < 1:
            raise SettingsError("ECG_INGEST_TOKEN_SECONDS must be positive")

    @property
    def jwt_secret_weakness(self) -> str | None:
        """Why the signing key is weak (tolerated in development only), or None."""
        return jwt_secret_weakness(self.jwt_secret)

    @property
    def redacted_database_url(self) -> str:
        return redact_url(self.database_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        environment = _environment(source)
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
            kafka_max_pending_bytes=_integer(
                source, "ECG_KAFKA_MAX_PENDING_BYTES", defaults.kafka_max_pending_bytes
            ),
            database_pool_size=_integer(
                source, "ECG_DATABASE_POOL_SIZE", defaults.database_pool_size
            ),
            stream_persist_seconds=_number(
                source, "ECG_STREAM_PERSIST_SECONDS", defaults.stream_persist_seconds
            ),
            stream_persist_chunks=_integer(
                source, "ECG_STREAM_PERSIST_CHUNKS", defaults.stream_persist_chunks
            ),
            jwt_secret=source.get("ECG_JWT_SECRET", "").strip(),
            jwt_issuer=source.get("ECG_JWT_ISSUER", "").strip() or defaults.jwt_issuer,
            access_token_seconds=_integer(
                source, "ECG_ACCESS_TOKEN_SECONDS", defaults.access_token_seconds
            ),
            refresh_token_seconds=_integer(
                source, "ECG_REFRESH_TOKEN_SECONDS", defaults.refresh_token_seconds
            ),
            session_seconds=_integer(source, "ECG_SESSION_SECONDS", defaults.session_seconds),
            ingest_token_seconds=_integer(
                source, "ECG_INGEST_TOKEN_SECONDS", defaults.ingest_token_seconds
            ),
            password_hash_concurrency=_integer(
                source, "ECG_PASSWORD_HASH_CONCURRENCY", defaults.password_hash_concurrency
            ),
        )


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """ECG_DATABASE_URL alone, for tools that need nothing else (``gateway.admin``)."""
    source = os.environ if environ is None else environ
    url = _service(source, "ECG_DATABASE_URL", DEVELOPMENT_DATABASE_URL, _environment(source))
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise SettingsError("ECG_DATABASE_URL must be a postgresql:// URL")
    return url


def jwt_secret_weakness(secret: str) -> str | None:
    """Why ``secret`` is not fit to sign tokens, or None. A heuristic: it catches short,
    repetitive and placeholder keys, and cannot prove that a key came from a random source."""
    size = len(secret.encode())
    if size < MIN_JWT_SECRET_BYTES:
        return f"it has {size} bytes; use at least {MIN_JWT_SECRET_BYTES} random bytes"
    lowered = secret.lower()
    for word in PLACEHOLDER_WORDS:
        if word in lowered:
            return f"it contains {word!r}, like a placeholder; use random bytes"
    counts = Counter(secret).values()
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts)
    periodic = secret in (secret + secret)[1:-1]  # "abcabc...": one piece, repeated
    if periodic or per_char * len(secret) < MIN_JWT_SECRET_BITS:
        return "it is too repetitive to be random; use random bytes"
    return None


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


def _environment(source: Mapping[str, str]) -> Environment:
    env = source.get("ECG_ENV", "development")
    if env not in ENVIRONMENTS:
        raise SettingsError(f"ECG_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    environment: Environment = env
    return environment


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
