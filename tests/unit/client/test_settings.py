"""What the client reads from the environment."""

from __future__ import annotations

import pytest

from client.settings import (
    DEFAULT_GATEWAY_URL,
    DEVELOPMENT_KAFKA_BOOTSTRAP,
    ClientSettings,
    SettingsError,
)


def test_development_has_local_defaults() -> None:
    settings = ClientSettings.from_env({})
    assert settings.gateway_url == DEFAULT_GATEWAY_URL
    assert settings.require_kafka_bootstrap() == DEVELOPMENT_KAFKA_BOOTSTRAP
    assert settings.password is None
    assert settings.window_seconds == 10.0


def test_the_variables_are_read() -> None:
    settings = ClientSettings.from_env(
        {
            "ECG_ENV": "production",
            "ECG_GATEWAY_URL": "https://ecg.example.org",
            "ECG_KAFKA_BOOTSTRAP": " kafka:9092 ",
            "ECG_PASSWORD": "a pass phrase",
            "ECG_WINDOW_SECONDS": "5",
        }
    )
    assert settings.gateway_url == "https://ecg.example.org"
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.window_seconds == 5.0
    assert settings.password == "a pass phrase"
    assert "a pass phrase" not in repr(settings)


def test_outside_development_kafka_has_no_default() -> None:
    settings = ClientSettings.from_env({"ECG_ENV": "production"})
    assert settings.kafka_bootstrap is None
    with pytest.raises(SettingsError, match="ECG_KAFKA_BOOTSTRAP must be set"):
        settings.require_kafka_bootstrap()


@pytest.mark.parametrize(
    ("environ", "name"),
    [({"ECG_ENV": "staging"}, "ECG_ENV"), ({"ECG_WINDOW_SECONDS": "ten"}, "ECG_WINDOW_SECONDS")],
)
def test_a_malformed_variable_is_named(environ: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        ClientSettings.from_env(environ)
