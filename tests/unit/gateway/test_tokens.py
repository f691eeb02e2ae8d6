from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

import jwt
import pytest

from gateway.errors import InvalidTokenError
from gateway.settings import Settings
from gateway.tokens import Tokens, TokenUse

KEY = secrets.token_urlsafe(48)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: dict[str, Any], payload: dict[str, Any], key: str = KEY) -> str:
    """A JWS built by hand, so that any header, including a lying one, can be made."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        env="test", kafka_bootstrap="127.0.0.1:1", database_url="postgresql://x@h/d", jwt_secret=KEY
    )


@pytest.fixture
def tokens(settings: Settings) -> Tokens:
    return Tokens(settings)


def now() -> int:
    return int(time.time())


NOW = now()  # for the tokens made at import time; each of them has a flaw bigger than minutes


def payload(use: str = "access", **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": "ecg-pipeline",
        "aud": "ecg-pipeline-api",
        "sub": str(uuid.uuid4()),
        "iat": now() - 10,
        "exp": now() + 600,
        "jti": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "token_use": use,
    }
    if use == "access":
        claims["role"] = "user"
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def test_issued_tokens_verify(tokens: Tokens) -> None:
    user, session = uuid.uuid4(), uuid.uuid4()
    access = tokens.issue("access", user, session, not_after=now() + 10**6, role="user")
    refresh = tokens.issue("refresh", user, session, not_after=now() + 10**6)
    assert tokens.verify(access.token, "access") == access.claims
    assert tokens.verify(refresh.token, "refresh") == refresh.claims
    assert access.claims.expires_at - access.claims.issued_at == 15 * 60
    assert refresh.claims.role is None
    header = jwt.get_unverified_header(access.token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert set(jwt.decode(access.token, options={"verify_signature": False})) == {
        "iss", "aud", "sub", "iat", "exp", "jti", "sid", "token_use", "role"
    }  # fmt: skip


def test_no_token_outlives_its_session(tokens: Tokens) -> None:
    ends = now() + 60
    refresh = tokens.issue("refresh", uuid.uuid4(), uuid.uuid4(), not_after=ends)
    assert refresh.claims.expires_at == ends


def test_a_hand_made_token_verifies(tokens: Tokens) -> None:
    """The forger below is faithful: without a change, its tokens are accepted."""
    tokens.verify(sign({"alg": "HS256", "typ": "JWT"}, payload()), "access")


ATTACKS: dict[str, str] = {
    "alg none": ".".join(
        [b64(json.dumps({"alg": "none"}).encode()), b64(json.dumps(payload()).encode()), ""]
    ),
    "alg None": ".".join(
        [b64(json.dumps({"alg": "None"}).encode()), b64(json.dumps(payload()).encode()), ""]
    ),
    "RS256 header on an HMAC": sign({"alg": "RS256"}, payload()),
    "HS512 with our key": jwt.encode(payload(), KEY, algorithm="HS512"),
    "HS384 with our key": jwt.encode(payload(), KEY, algorithm="HS384"),
    "another key": sign({"alg": "HS256"}, payload(), key=secrets.token_urlsafe(48)),
    "tampered payload": (
        lambda t: ".".join([t[0], b64(json.dumps(payload(role="admin")).encode()), t[2]])
    )(sign({"alg": "HS256"}, payload()).split(".")),
    "tampered signature": sign({"alg": "HS256"}, payload())[:-4] + "AAAA",
    "expired": sign({"alg": "HS256"}, payload(iat=NOW - 1000, exp=NOW - 100)),
    "wrong audience": sign({"alg": "HS256"}, payload(aud="another-api")),
    "audience list": sign({"alg": "HS256"}, payload(aud=["ecg-pipeline-api", "x"])),
    "wrong issuer": sign({"alg": "HS256"}, payload(iss="https://evil.example")),
    "issued in the future": sign({"alg": "HS256"}, payload(iat=NOW + 3600, exp=NOW + 3700)),
    "lives too long": sign({"alg": "HS256"}, payload(exp=NOW + 10**6)),
    "sub not a uuid": sign({"alg": "HS256"}, payload(sub="admin")),
    "sid not a uuid": sign({"alg": "HS256"}, payload(sid=42)),
    "float exp": sign({"alg": "HS256"}, payload(exp=NOW + 600.5)),
    "unknown role": sign({"alg": "HS256"}, payload(role="root")),
    "unknown token_use": sign({"alg": "HS256"}, payload(token_use="id")),
    "token_use a list": sign({"alg": "HS256"}, payload(token_use=["access"])),
    "role a list": sign({"alg": "HS256"}, payload(role=["admin"])),
    "not a JWT": "not.a.jwt",
    "empty": "",
}


@pytest.mark.parametrize("token", ATTACKS.values(), ids=ATTACKS.keys())
def test_attacks_are_refused(tokens: Tokens, token: str) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify(token, "access", "refresh")


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "iat", "exp", "jti", "sid", "token_use"])
@pytest.mark.parametrize("use", ["access", "refresh"])
def test_every_claim_is_required(tokens: Tokens, claim: str, use: str) -> None:
    token = sign({"alg": "HS256"}, payload(use, **{claim: None}))
    with pytest.raises(InvalidTokenError):
        tokens.verify(token, "access", "refresh")


def test_an_access_token_needs_a_role_and_a_refresh_token_has_none(tokens: Tokens) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify(sign({"alg": "HS256"}, payload("access", role=None)), "access")
    with pytest.raises(InvalidTokenError):
        tokens.verify(sign({"alg": "HS256"}, payload("refresh", role="user")), "refresh")


def test_the_two_kinds_are_not_interchangeable(tokens: Tokens) -> None:
    user, session = uuid.uuid4(), uuid.uuid4()
    access = tokens.issue("access", user, session, not_after=now() + 10**6, role="admin")
    refresh = tokens.issue("refresh", user, session, not_after=now() + 10**6)
    with pytest.raises(InvalidTokenError, match="'access'; this endpoint takes 'refresh'"):
        tokens.verify(access.token, "refresh")
    with pytest.raises(InvalidTokenError, match="'refresh'; this endpoint takes 'access'"):
        tokens.verify(refresh.token, "access")


def test_expiry_says_so_only_for_genuine_tokens(tokens: Tokens) -> None:
    expired = payload(iat=now() - 1000, exp=now() - 100)
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.verify(sign({"alg": "HS256"}, expired), "access")
    with pytest.raises(InvalidTokenError, match="not valid"):
        tokens.verify(sign({"alg": "HS256"}, expired, key=secrets.token_urlsafe(48)), "access")


def test_clocks_may_differ_by_a_few_seconds(tokens: Tokens) -> None:
    tokens.verify(sign({"alg": "HS256"}, payload(iat=now() + 3, exp=now() + 600)), "access")
    tokens.verify(sign({"alg": "HS256"}, payload(iat=now() - 600, exp=now() - 2)), "access")


def ingest_payload(**changes: Any) -> dict[str, Any]:
    """An ingest token's claims: no session, no role, the stream's ECG id."""
    return payload("ingest", **{"sid": None, "ecg": str(uuid.uuid4()), **changes})


def test_an_ingest_token_names_its_stream_and_owner(tokens: Tokens) -> None:
    owner, ecg_id = uuid.uuid4(), uuid.uuid4()
    issued = tokens.issue_ingest(owner, ecg_id)
    claims = tokens.verify_stream(issued.token)
    assert claims == issued.claims
    assert (issued.claims.owner_id, issued.claims.ecg_id) == (owner, ecg_id)
    assert issued.claims.expires_at - issued.claims.issued_at == 24 * 3600
    assert set(jwt.decode(issued.token, options={"verify_signature": False})) == {
        "iss", "aud", "sub", "iat", "exp", "jti", "ecg", "token_use"
    }  # fmt: skip


def test_the_ingest_lifetime_is_a_setting(settings: Settings) -> None:
    short = Tokens(Settings(**{**settings.__dict__, "ingest_token_seconds": 60}))
    issued = short.issue_ingest(uuid.uuid4(), uuid.uuid4())
    assert issued.claims.expires_at - issued.claims.issued_at == 60
    with pytest.raises(InvalidTokenError, match="the token is not valid"):
        short.verify_stream(Tokens(settings).issue_ingest(uuid.uuid4(), uuid.uuid4()).token)


def test_an_ingest_token_is_no_session_token(tokens: Tokens) -> None:
    token = tokens.issue_ingest(uuid.uuid4(), uuid.uuid4()).token
    everywhere: list[tuple[TokenUse, ...]] = [("access",), ("refresh",), ("access", "refresh")]
    for uses in everywhere:
        with pytest.raises(InvalidTokenError, match="token_use is 'ingest'"):
            tokens.verify(token, *uses)


def test_streams_take_access_tokens_but_not_refresh_tokens(tokens: Tokens) -> None:
    user, session = uuid.uuid4(), uuid.uuid4()
    access = tokens.issue("access", user, session, not_after=now() + 10**6, role="user")
    assert tokens.verify_stream(access.token) == access.claims
    refresh = tokens.issue("refresh", user, session, not_after=now() + 10**6)
    with pytest.raises(InvalidTokenError, match="takes 'access' or 'ingest' tokens"):
        tokens.verify_stream(refresh.token)


def test_an_expired_ingest_token_says_so(tokens: Tokens) -> None:
    token = sign({"alg": "HS256"}, ingest_payload(iat=NOW - 1000, exp=NOW - 100))
    with pytest.raises(InvalidTokenError, match="the token has expired"):
        tokens.verify_stream(token)


INGEST_FLAWS: dict[str, dict[str, Any]] = {
    "no ecg": {"ecg": None},
    "ecg not a uuid": {"ecg": "latest"},
    "no sub": {"sub": None},
    "with a session": {"sid": str(uuid.uuid4())},
    "with a role": {"role": "user"},
    "lives too long": {"exp": NOW + 2 * 24 * 3600},
    "issued in the future": {"iat": NOW + 3600, "exp": NOW + 3700},
    "wrong audience": {"aud": "another-api"},
}


@pytest.mark.parametrize("changes", INGEST_FLAWS.values(), ids=INGEST_FLAWS.keys())
def test_flawed_ingest_tokens_are_refused(tokens: Tokens, changes: dict[str, Any]) -> None:
    tokens.verify_stream(sign({"alg": "HS256"}, ingest_payload()))  # the forger is faithful
    with pytest.raises(InvalidTokenError):
        tokens.verify_stream(sign({"alg": "HS256"}, ingest_payload(**changes)))
