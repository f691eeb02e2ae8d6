from __future__ import annotations

import pytest

from gateway.settings import (
    DEVELOPMENT_DATABASE_URL,
    DEVELOPMENT_KAFKA_BOOTSTRAP,
    MIB,
    Settings,
    SettingsError,
    redact_url,
)

PRODUCTION = {
    "ECG_ENV": "production",
    "ECG_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092",
    "ECG_DATABASE_URL": "postgresql://gateway:hunter2@db.internal:5432/ecg",
}


def test_development_defaults() -> None:
    settings = Settings.from_env({})
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
        }
    )
    assert settings.env == "production"
    assert settings.kafka_bootstrap == "kafka-1:9092,kafka-2:9092"
    assert settings.database_url == PRODUCTION["ECG_DATABASE_URL"]
    assert settings.max_body_bytes == 1_000_000
    assert settings.chunk_bytes == 65536
    assert settings.publish_timeout_seconds == 2.5


@pytest.mark.parametrize("missing", ["ECG_KAFKA_BOOTSTRAP", "ECG_DATABASE_URL"])
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
    ],
)
def test_malformed_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**PRODUCTION, name: value})


def test_password_stays_out_of_repr_and_logs() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)
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
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.max_body_bytes = 1  # type: ignore[misc]
