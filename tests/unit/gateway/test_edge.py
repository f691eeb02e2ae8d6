"""The edge middleware as ``create_app`` gets it from the settings: proxy headers are
believed only from ECG_TRUSTED_PROXIES (none by default), and every body is paced."""

from __future__ import annotations

import pytest
from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway.edge import BodyPace, middleware
from gateway.settings import Settings, SettingsError

SERVICES = {
    "ECG_ENV": "development",
    "ECG_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "ECG_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/ecg",
}


def classes(stack: list[Middleware]) -> list[object]:
    return [item.cls for item in stack]


def test_no_proxy_is_trusted_by_default() -> None:
    settings = Settings.from_env(SERVICES)
    assert settings.trusted_proxies == ()
    assert classes(middleware(settings)) == [BodyPace]


def test_trusted_proxies_come_first() -> None:
    settings = Settings.from_env(SERVICES | {"ECG_TRUSTED_PROXIES": " 10.0.0.5, 10.1.0.0/16 ,"})
    assert settings.trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    assert classes(middleware(settings)) == [ProxyHeadersMiddleware, BodyPace]
    assert middleware(settings)[0].kwargs == {"trusted_hosts": ["10.0.0.5", "10.1.0.0/16"]}


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.300"])
def test_a_trusted_proxy_is_an_address_or_a_network(value: str) -> None:
    with pytest.raises(SettingsError, match="ECG_TRUSTED_PROXIES"):
        Settings.from_env(SERVICES | {"ECG_TRUSTED_PROXIES": value})
