"""The known JWT attacks against the running gateway (RFC 8725).

Tokens are forged with the stack's own key (ECG_JWT_SECRET) for a real, live session,
so that each one differs from an accepted token by exactly its flaw: the control
(``test_a_faithful_forgery_is_accepted``) shows that the forger itself is right.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest

from tests.e2e.conftest import Account, NewUser


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: dict[str, Any], claims: dict[str, Any], key: str) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def claims_of(token: str, key: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["HS256"], audience="ecg-pipeline-api"
    )
    return claims


def lookup_path() -> str:
    return f"/api/v1/ecg/{uuid4()}"  # a valid access token gets 404 here, a bad one 401


async def status_with(http: httpx.AsyncClient, account: Account, token: str) -> int:
    response = await http.get(lookup_path(), headers=account.headers(token))
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer ")
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


@pytest.fixture
def live(user: Account, jwt_secret: str) -> dict[str, Any]:
    """The claims of the user's current access token."""
    return claims_of(user.access_token, jwt_secret)


def fresh(live: dict[str, Any], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {**live, "iat": now, "exp": now + 600, "jti": str(uuid4()), **changes}
    return {name: value for name, value in claims.items() if value is not None}


async def test_a_faithful_forgery_is_accepted(
    http: httpx.AsyncClient, user: Account, live: dict[str, Any], jwt_secret: str
) -> None:
    assert await status_with(http, user, user.access_token) == 404
    assert await status_with(http, user, sign({"alg": "HS256"}, fresh(live), jwt_secret)) == 404


def attacks(live: dict[str, Any], key: str) -> dict[str, str]:
    def hs256(header: dict[str, Any] | None = None, other_key: bool = False, **changes: Any) -> str:
        return sign(
            header or {"alg": "HS256"}, fresh(live, **changes), key[::-1] if other_key else key
        )

    now = int(time.time())
    head, body, signature = hs256({"alg": "HS256", "typ": "JWT"}).split(".")
    escalated = b64(json.dumps(fresh(live, role="admin")).encode())
    return {
        "tampered signature": f"{head}.{body}.{signature[:-6]}AAAAAA",
        "tampered payload": f"{head}.{escalated}.{signature}",
        "signature stripped": f"{head}.{body}.",
        "alg none": unsigned({"alg": "none", "typ": "JWT"}, fresh(live)),
        "alg None": unsigned({"alg": "None"}, fresh(live)),
        "alg NONE with a signature": hs256({"alg": "NONE"}),
        # Key confusion: an RS256 or ES256 header over an HMAC made with our key (as if
        # our key were a public key), and the other HMAC algorithms with the right key.
        "RS256 header, HMAC signature": hs256({"alg": "RS256"}),
        "ES256 header, HMAC signature": hs256({"alg": "ES256"}),
        "HS512": jwt.encode(fresh(live), key, algorithm="HS512"),
        "HS384": jwt.encode(fresh(live), key, algorithm="HS384"),
        "another key": hs256(other_key=True),
        "kid naming another key": hs256({"alg": "HS256", "kid": "../../dev/null"}, True),
        "jku to fetch a key": hs256({"alg": "HS256", "jku": "https://evil.example/k"}, True),
        "expired": hs256(iat=now - 1000, exp=now - 60),
        "wrong aud": hs256(aud="another-api"),
        "aud of several": hs256(aud=[live.get("aud"), "another-api"]),
        "wrong iss": hs256(iss="https://evil.example"),
        "issued in the future": hs256(iat=now + 300, exp=now + 600),
        "lives a year": hs256(exp=now + 365 * 86400),
        "unknown session": hs256(sid=str(uuid4())),
        "unknown user": hs256(sub=str(uuid4())),
        "refresh use": hs256(token_use="refresh", role=None),
    }


ATTACK_NAMES = list(attacks({"aud": "x"}, "k" * 64))


@pytest.mark.parametrize("attack", ATTACK_NAMES)
async def test_attacks_are_401(
    http: httpx.AsyncClient, user: Account, live: dict[str, Any], jwt_secret: str, attack: str
) -> None:
    token = attacks(live, jwt_secret)[attack]
    assert await status_with(http, user, token) == 401


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "iat", "exp", "jti", "sid", "token_use"])
async def test_a_missing_claim_is_401(
    http: httpx.AsyncClient, user: Account, live: dict[str, Any], jwt_secret: str, claim: str
) -> None:
    token = sign({"alg": "HS256"}, fresh(live, **{claim: None}), jwt_secret)
    assert await status_with(http, user, token) == 401


async def test_a_refresh_token_is_no_access_token(http: httpx.AsyncClient, user: Account) -> None:
    assert await status_with(http, user, user.refresh_token) == 401
    response = await http.post(
        "/api/v1/auth/register",
        json={"email": "x@example.org", "password": "kq8zvtmw-long"},
        headers=user.headers(user.refresh_token),
    )
    assert response.status_code == 401


async def test_an_access_token_is_no_refresh_token(http: httpx.AsyncClient, user: Account) -> None:
    response = await http.get("/api/v1/auth/refresh", headers=user.headers(user.access_token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "token_use" in response.json()["detail"]


async def test_another_users_session_cannot_be_borrowed(
    http: httpx.AsyncClient, user: Account, new_user: NewUser, live: dict[str, Any], jwt_secret: str
) -> None:
    other = claims_of((await new_user()).access_token, jwt_secret)
    token = sign({"alg": "HS256"}, fresh(live, sid=other["sid"]), jwt_secret)
    assert await status_with(http, user, token) == 401


async def test_a_role_claim_grants_nothing(
    http: httpx.AsyncClient, user: Account, live: dict[str, Any], jwt_secret: str
) -> None:
    """Even with a valid signature, the role comes from the database."""
    token = sign({"alg": "HS256"}, fresh(live, role="admin"), jwt_secret)
    response = await http.post(
        "/api/v1/auth/register",
        json={"email": "x@example.org", "password": "kq8zvtmw-long"},
        headers=user.headers(token),
    )
    assert response.status_code == 403
