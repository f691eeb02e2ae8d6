from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

import pytest

from gateway.settings import (
    DEVELOPMENT_DATABASE_URL,
    DEVELOPMENT_KAFKA_BOOTSTRAP,
    GENERATE_JWT_SECRET,
    MIB,
    Settings,
    SettingsError,
    database_url_from_env,
    jwt_secret_weakness,
    redact_url,
)

KEY = secrets.token_urlsafe(48)
DEVELOPMENT = {"ECG_ENV": "development"}
PRODUCTION = {
    "ECG_ENV": "production",
    "ECG_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092",
    "ECG_DATABASE_URL": "postgresql://gateway:hunter2@db.internal:5432/ecg",
    "ECG_JWT_SECRET": KEY,
}


def test_production_unless_said_otherwise() -> None:
    """No ECG_ENV (or an empty one) is production: no local service, no made-up key."""
    for environ in ({}, {"ECG_ENV": ""}):
        with pytest.raises(SettingsError, match="ECG_KAFKA_BOOTSTRAP must be set"):
            Settings.from_env(environ)
    unnamed = {k: v for k, v in PRODUCTION.items() if k != "ECG_ENV"}
    assert Settings.from_env(unnamed).env == "production"
    with pytest.raises(SettingsError, match="ECG_JWT_SECRET must be set"):
        Settings(kafka_bootstrap="kafka:9092", database_url="postgresql://db/ecg")
    with pytest.raises(SettingsError, match="ECG_DATABASE_URL"):
        database_url_from_env({})


def test_development_defaults() -> None:
    settings = Settings.from_env(DEVELOPMENT)
    assert settings.env == "development"
    assert settings.kafka_bootstrap == DEVELOPMENT_KAFKA_BOOTSTRAP
    assert settings.database_url == DEVELOPMENT_DATABASE_URL
    assert settings.max_body_bytes == 64 * MIB
    assert settings.chunk_bytes == 256 * 1024
    assert settings.publish_timeout_seconds == 10.0
    assert settings.samples_topic == "ecg.samples.v1"


def test_reads_every_variable() -> None:
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "ECG_MAX_BODY_BYTES": "1000000",
            "ECG_CHUNK_BYTES": "65536",
            "ECG_PUBLISH_TIMEOUT_SECONDS": "2.5",
            "ECG_JWT_ISSUER": "https://ecg.example.org",
            "ECG_ACCESS_TOKEN_SECONDS": "300",
            "ECG_REFRESH_TOKEN_SECONDS": "3600",
            "ECG_SESSION_SECONDS": "86400",
            "ECG_INGEST_TOKEN_SECONDS": "7200",
            "ECG_PASSWORD_HASH_CONCURRENCY": "4",
            "ECG_DATABASE_POOL_SIZE": "40",
            "ECG_KAFKA_MAX_PENDING_BYTES": str(16 * MIB),
            "ECG_STREAM_PERSIST_SECONDS": "2.5",
            "ECG_STREAM_PERSIST_CHUNKS": "20",
        }
    )
    assert settings.env == "production"
    assert settings.kafka_bootstrap == "kafka-1:9092,kafka-2:9092"
    assert settings.database_url == PRODUCTION["ECG_DATABASE_URL"]
    assert settings.max_body_bytes == 1_000_000
    assert settings.chunk_bytes == 65536
    assert settings.publish_timeout_seconds == 2.5
    assert settings.jwt_secret == KEY
    assert not settings.jwt_secret_generated
    assert settings.jwt_issuer == "https://ecg.example.org"
    assert settings.jwt_audience == "ecg-pipeline-api"
    assert (settings.access_token_seconds, settings.refresh_token_seconds) == (300, 3600)
    assert settings.session_seconds == 86400
    assert settings.ingest_token_seconds == 7200
    assert settings.password_hash_concurrency == 4
    assert settings.database_pool_size == 40
    assert settings.kafka_max_pending_bytes == 16 * MIB
    assert (settings.stream_persist_seconds, settings.stream_persist_chunks) == (2.5, 20)


@pytest.mark.parametrize("missing", ["ECG_KAFKA_BOOTSTRAP", "ECG_DATABASE_URL", "ECG_JWT_SECRET"])
@pytest.mark.parametrize("env", ["test", "production"])
def test_no_service_defaults_outside_development(missing: str, env: str) -> None:
    environ = {**PRODUCTION, "ECG_ENV": env}
    del environ[missing]
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ECG_ENV", "staging"),
        ("ECG_MAX_BODY_BYTES", "64MB"),
        ("ECG_MAX_BODY_BYTES", "0"),
        ("ECG_CHUNK_BYTES", "100"),
        ("ECG_CHUNK_BYTES", str(2 * MIB)),
        ("ECG_PUBLISH_TIMEOUT_SECONDS", "soon"),
        ("ECG_PUBLISH_TIMEOUT_SECONDS", "0"),
        ("ECG_PUBLISH_TIMEOUT_SECONDS", "nan"),
        ("ECG_DATABASE_URL", "mysql://db/ecg"),
        ("ECG_ACCESS_TOKEN_SECONDS", "0"),
        ("ECG_ACCESS_TOKEN_SECONDS", "100000"),
        ("ECG_SESSION_SECONDS", "60"),
        ("ECG_INGEST_TOKEN_SECONDS", "0"),
        ("ECG_INGEST_TOKEN_SECONDS", "1d"),
        ("ECG_PASSWORD_HASH_CONCURRENCY", "0"),
        ("ECG_DATABASE_POOL_SIZE", "0"),
        ("ECG_KAFKA_MAX_PENDING_BYTES", "1000"),
        ("ECG_STREAM_PERSIST_SECONDS", "0"),
        ("ECG_STREAM_PERSIST_SECONDS", "61"),
        ("ECG_STREAM_PERSIST_CHUNKS", "0"),
    ],
)
def test_malformed_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**PRODUCTION, name: value})


def test_password_stays_out_of_repr_and_logs() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)
    assert KEY not in repr(settings)
    assert settings.redacted_database_url == "postgresql://gateway:***@db.internal:5432/ecg"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql://u:***@h:5432/d"),
        ("postgresql://u:p@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"),
        ("postgresql://u:p@[::1]:5432/d", "postgresql://u:***@[::1]:5432/d"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_settings_are_frozen() -> None:
    settings = Settings.from_env(DEVELOPMENT)
    with pytest.raises(AttributeError):
        settings.max_body_bytes = 1  # type: ignore[misc]


WEAK_KEYS = [
    "short",
    "x" * 31,  # 31 bytes
    "a" * 64,
    "0123456789abcdef" * 4,  # one piece, repeated
    "your-256-bit-secret-your-256-bit-secret",  # jwt.io's example key
    "changeme-changeme-changeme-changeme-1234",
    "please-use-a-real-key-DEFAULT-f8e2a61c94b7d03e",
    # Accepted before issue 16: 36 distinct characters passed the frequency estimate.
    "abcdefghijklmnopqrstuvwxyz0123456789",
    # Long enough, and typed by hand: sequences, words, keyboard walks, sentences.
    secrets.token_urlsafe(32)[:42],  # random, and 252 bits: one character short
    secrets.token_hex(32)[:63],
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL",
    "zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUTSRQPON",
    "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4",
    "aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZ",
    "qwertyuiopasdfghjklzxcvbnm1234567890QWERTYUIOP",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0pQAZWSXEDCRFV",
    "thisismyveryownkeyforthejwtsigningprocess20240101",
    "my-ecg-pipeline-production-signing-key-number-one",
    "supercalifragilisticexpialidocious-and-more-words",
    "ILoveMyDogRexAndMyCatTomTheyAreTheBestPets2024!!",
    "The quick brown fox jumps over the lazy dog again!",
    "Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3xx",
    "deadbeefcafebabe0123456789abcdeffedcba9876543210deadbeefcafebabe",
]


@pytest.mark.parametrize("key", WEAK_KEYS)
@pytest.mark.parametrize("env", ["test", "production"])
def test_weak_signing_keys_stop_the_service_outside_development(key: str, env: str) -> None:
    with pytest.raises(SettingsError, match="ECG_JWT_SECRET") as raised:
        Settings.from_env({**PRODUCTION, "ECG_ENV": env, "ECG_JWT_SECRET": key})
    assert key not in str(raised.value)
    assert GENERATE_JWT_SECRET in str(raised.value), "the error says how to make a key"


def test_a_missing_key_says_how_to_generate_one() -> None:
    environ = {k: v for k, v in PRODUCTION.items() if k != "ECG_JWT_SECRET"}
    with pytest.raises(SettingsError, match="ECG_JWT_SECRET must be set") as raised:
        Settings.from_env(environ)
    assert "secrets.token_urlsafe(32)" in str(raised.value)


@pytest.mark.parametrize(
    "key",
    [
        secrets.token_urlsafe(32),
        secrets.token_hex(32),
        base64.b64encode(secrets.token_bytes(32)).decode(),
        secrets.token_hex(48),  # 96 characters: zxcvbn reads it in pieces
        KEY,
    ],
)
def test_random_keys_are_accepted(key: str) -> None:
    assert jwt_secret_weakness(key) is None
    assert Settings.from_env({**PRODUCTION, "ECG_JWT_SECRET": key}).jwt_secret == key


@pytest.mark.parametrize(
    "generate",
    [
        lambda: secrets.token_urlsafe(32),
        lambda: secrets.token_hex(32),
        lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    ],
)
def test_no_random_key_of_256_bits_is_refused(generate: Callable[[], str]) -> None:
    """The thresholds keep a wide margin over random keys (docs/settings.md): a refused
    random key would stop a deployment for nothing."""
    refused = [key for key in (generate() for _ in range(200)) if jwt_secret_weakness(key)]
    assert refused == []


def test_development_without_a_key_signs_with_a_random_one() -> None:
    first, second = Settings.from_env(DEVELOPMENT), Settings.from_env(DEVELOPMENT)
    assert first.jwt_secret_generated
    assert jwt_secret_weakness(first.jwt_secret) is None
    assert first.jwt_secret != second.jwt_secret


def test_development_tolerates_a_weak_key_and_says_so() -> None:
    settings = Settings.from_env({**DEVELOPMENT, "ECG_JWT_SECRET": "dev"})
    assert settings.jwt_secret == "dev"
    assert settings.jwt_secret_weakness is not None


def test_database_url_alone() -> None:
    assert database_url_from_env(DEVELOPMENT) == DEVELOPMENT_DATABASE_URL
    assert database_url_from_env(PRODUCTION) == PRODUCTION["ECG_DATABASE_URL"]
    with pytest.raises(SettingsError, match="ECG_DATABASE_URL"):
        database_url_from_env({"ECG_ENV": "production"})
