"""The stream worker's settings from the environment."""

from __future__ import annotations

import pytest

from streams.settings import Settings, SettingsError

SERVICES = {"ECG_KAFKA_BOOTSTRAP": "kafka:9092", "ECG_DATABASE_URL": "postgresql://x@db/ecg"}


def test_the_idle_timeout_has_defaults_and_can_be_set() -> None:
    default = Settings.from_env(SERVICES)
    assert (default.stream_idle_seconds, default.stream_idle_check_seconds) == (300.0, 15.0)
    settings = Settings.from_env(
        {**SERVICES, "ECG_STREAM_IDLE_SECONDS": "60", "ECG_STREAM_IDLE_CHECK_SECONDS": "0.5"}
    )
    assert (settings.stream_idle_seconds, settings.stream_idle_check_seconds) == (60.0, 0.5)


@pytest.mark.parametrize("name", ["ECG_STREAM_IDLE_SECONDS", "ECG_STREAM_IDLE_CHECK_SECONDS"])
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_an_idle_setting_must_be_a_positive_number_of_seconds(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{name} must be a number of seconds above 0"):
        Settings.from_env({**SERVICES, name: value})


def test_the_services_are_required() -> None:
    with pytest.raises(SettingsError, match="ECG_DATABASE_URL must be set"):
        Settings.from_env({"ECG_KAFKA_BOOTSTRAP": "kafka:9092"})
