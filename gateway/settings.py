"""The gateway's settings: read once from the environment into one frozen object.

This is the only module that reads ``os.environ``. Everything else receives a
``Settings`` from the composition root (``gateway.app.create_app``).

- ``ECG_ENV``: ``production`` (default: production unless said otherwise), ``test`` or
  ``development``; the profiles are compared in docs/settings.md.
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
  least 256 bits from a random source, e.g. ``python3 -c 'import secrets;
  print(secrets.token_urlsafe(32))'``. Outside development a missing key, or one that
  :func:`jwt_secret_weakness` finds short or typed by hand, stops the service; in
  development a missing key becomes a random one per process (tokens then die with the
  process) and a weak one is used, and the lifespan warns.
- ``ECG_JWT_ISSUER``: the tokens' ``iss``, default ``ecg-pipeline``.
- ``ECG_ACCESS_TOKEN_SECONDS`` (default 900), ``ECG_REFRESH_TOKEN_SECONDS`` (default
  86400, sliding) and ``ECG_SESSION_SECONDS`` (default 14 days: the absolute lifetime
  of a login and of every refresh token descended from it).
- ``ECG_INGEST_TOKEN_SECONDS``: how long the ingest token of a stream works, default
  86400 (a day of recording); it is not tied to a login, so a device keeps streaming
  when the app that opened the stream logs out.
- ``ECG_PASSWORD_HASH_CONCURRENCY``: Argon2id computations at once, default 2; each
  holds ``gateway.accounts.passwords.ARGON2`` memory (32 MiB).
- ``ECG_TRUSTED_PROXIES``: comma-separated addresses or networks of the reverse proxies
  whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed (``gateway.edge``);
  default none, so that no client can choose the address that the audit log records
  and the login throttle counts. uvicorn runs with ``--no-proxy-headers``.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit, urlunsplit

from zxcvbn import zxcvbn

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

# HS256: a key at least as long as the hash (RFC 7518 3.2), drawn at random. A key's
# capacity is its length times the bits of its alphabet's characters: 4 for hex digits,
# 6 for base64(url), log2(95) otherwise; so 64 hex digits or 43 base64url characters.
MIN_JWT_SECRET_BITS: Final = 256
HEX_DIGITS: Final = frozenset(string.hexdigits)
BASE64_CHARACTERS: Final = frozenset(string.ascii_letters + string.digits + "-_+/=")
PRINTABLE_BITS: Final = math.log2(95)
# What is left when zxcvbn's words, sequences, repeats, keyboard walks and dates are
# counted at their guesses and the rest at its alphabet's bits, as a share of the
# capacity: at least 0.82 for each of 5,000 keys of secrets.token_hex(32) and 0.84 of
# token_urlsafe(32), at most 0.74 for sentences and word lists typed as keys.
MIN_JWT_SECRET_ESTIMATE: Final = 0.75
# The share of characters that follow from the one or two before them (the same, the
# next or previous code point, the same step again): up to 0.57 for random hex keys in
# 200,000, 0.33 for base64url; 0.8 to 1 for "abc...", "a1b2c3..." or "aAbBcC...".
MAX_JWT_SECRET_PREDICTABLE: Final = 0.75
ZXCVBN_MAX_LENGTH: Final = 64  # zxcvbn refuses more than 72 characters: pieces of 64
JWT_SECRET_WORDS: Final = ("ecg", "pipeline", "jwt", "hs256", "signing", "token", "gateway")
GENERATE_JWT_SECRET: Final = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"  # noqa: S105 -- a command, not a key
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
    env: Environment = "production"
    max_body_bytes: int = 64 * MIB
    chunk_bytes: int = 256 * KIB
    publish_timeout_seconds: float = 10.0
    # Not read from the environment: the topic is part of the contract in
    # schemas.topics; tests point it at a topic of their own.
    samples_topic: str = topics.SAMPLES
    analysis_requests_topic: str = topics.ANALYSIS_REQUESTS
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
    trusted_proxies: tuple[str, ...] = ()
    # A request body must keep coming: ``body_timeout_seconds`` of waiting for the
    # client, plus a second for every ``body_min_bytes_per_second`` bytes received
    # (Apache's mod_reqtimeout ``body=20,MinRate=500``); see gateway.edge.
    body_timeout_seconds: float = 20.0
    body_min_bytes_per_second: int = 500
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
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(
                    f"ECG_TRUSTED_PROXIES: {proxy[:60]!r} is not an IP address or network"
                ) from None
        if not (self.body_timeout_seconds > 0 and self.body_min_bytes_per_second > 0):
            raise SettingsError("the body timeout and the body's minimum rate must be positive")

    def _check_tokens(self) -> None:
        if not self.jwt_secret:
            if self.env != "development":
                raise SettingsError(
                    f"ECG_JWT_SECRET must be set when ECG_ENV={self.env} (no default key "
                    f"outside development); generate one with {GENERATE_JWT_SECRET}"
                )
            object.__setattr__(self, "jwt_secret", secrets.token_urlsafe(48))
            object.__setattr__(self, "jwt_secret_generated", True)
        weakness = jwt_secret_weakness(self.jwt_secret)
        if weakness is not None and self.env != "development":
            raise SettingsError(
                f"ECG_JWT_SECRET is unfit for ECG_ENV={self.env}: {weakness}; "
                f"generate one with {GENERATE_JWT_SECRET}"
            )
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
            kafka_bootstrap=DEVELOPMENT_KAFKA_BOOTSTRAP,
            database_url=DEVELOPMENT_DATABASE_URL,
            env="development",  # only its field defaults are read
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
            trusted_proxies=tuple(
                item.strip()
                for item in source.get("ECG_TRUSTED_PROXIES", "").split(",")
                if item.strip()
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
    """Why ``secret`` is not fit to sign tokens, or None.

    A key must hold 256 bits by its length and alphabet (64 hex digits, 43 base64url
    characters, 40 other printable ones) and look drawn at random: no placeholder word,
    not one piece repeated, not mostly characters that follow from the ones before
    (``abcdef``, ``a1b2c3``, ``aaaa``), and at least 75 % of its capacity left once
    zxcvbn (Wheeler, USENIX Security 2016) has counted the words, sequences, repeats,
    keyboard walks and dates it finds at their guesses. A heuristic: it refuses keys
    typed by hand and cannot prove that a key came from a random source."""
    capacity = len(secret) * _bits_per_character(secret)
    if capacity < MIN_JWT_SECRET_BITS:
        return (
            f"it holds at most {capacity:.0f} bits ({len(secret)} characters); use at least "
            f"{MIN_JWT_SECRET_BITS} random bits: 43 base64url characters or 64 hex digits"
        )
    lowered = secret.lower()
    for word in PLACEHOLDER_WORDS:
        if word in lowered:
            return f"it contains {word!r}, like a placeholder; use random bytes"
    if secret in (secret + secret)[1:-1]:  # "abcabc...": one piece, repeated
        return "it is one piece repeated; use random bytes"
    if _predictable_share(secret) >= MAX_JWT_SECRET_PREDICTABLE:
        return (
            "most of its characters follow from the ones before them (repeated or "
            "sequential characters); use random bytes"
        )
    estimate = _estimated_bits(secret)
    if estimate < MIN_JWT_SECRET_ESTIMATE * capacity:
        return (
            "it looks typed by hand: its words, sequences or keyboard patterns leave about "
            f"{estimate:.0f} of its {capacity:.0f} bits; use random bytes"
        )
    return None


def _bits_per_character(secret: str) -> float:
    characters = set(secret)
    if characters <= HEX_DIGITS:
        return 4.0
    if characters <= BASE64_CHARACTERS:
        return 6.0
    return PRINTABLE_BITS


def _predictable_share(secret: str) -> float:
    """The share of characters that repeat or continue the one or two before them."""
    points = [ord(character) for character in secret]
    predictable = 0
    for i in range(1, len(points)):
        step = points[i] - points[i - 1]
        if abs(step) <= 1 or (
            i >= 2
            and (step == points[i - 1] - points[i - 2] or abs(points[i] - points[i - 2]) <= 1)
        ):
            predictable += 1
    return predictable / max(1, len(points) - 1)


def _estimated_bits(secret: str) -> float:
    """zxcvbn's matches at log2 of their guesses, the rest at the alphabet's bits."""
    per_character = _bits_per_character(secret)
    bits = 0.0
    for start in range(0, len(secret), ZXCVBN_MAX_LENGTH):
        piece = secret[start : start + ZXCVBN_MAX_LENGTH]
        for match in zxcvbn(piece, user_inputs=list(JWT_SECRET_WORDS))["sequence"]:
            brute = len(match["token"]) * per_character
            if match["pattern"] == "bruteforce":
                bits += brute
            else:
                bits += min(brute, math.log2(max(1.0, float(match["guesses"]))))
    return bits


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
    env = source.get("ECG_ENV", "").strip() or "production"
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
