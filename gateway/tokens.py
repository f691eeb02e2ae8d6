"""Access, refresh and ingest tokens: JWTs made and checked as RFC 8725 advises.

- One algorithm, pinned: HS256 with ``ECG_JWT_SECRET``. A token whose header names any
  other (``none``, HS384, RS256 or ES256 for the key-confusion attack) is refused
  before its signature is looked at; the key is never chosen from the token.
- Every claim is required and checked: ``iss``, ``aud`` (exactly ours), ``sub`` (a user
  id), ``iat``, ``exp``, ``jti``, ``token_use``, and ``sid`` (the session, i.e. the
  refresh family) for access and refresh tokens; access tokens carry the ``role`` too.
  A token living longer than its kind may (``exp - iat``) is refused, as is one issued
  in the future.
- ``token_use`` keeps the kinds apart: an access token is refused where a refresh
  token is expected, and the reverse; an ingest token is refused everywhere but where
  ``verify_stream`` takes it.
- An ingest token (``token_use: "ingest"``) lets a device send the chunks of one
  stream and nothing else: ``sub`` is the stream's owner and ``ecg`` its ECG id, and
  it has no ``sid``: it belongs to the stream, not to the login that opened it, so it
  works for ``ingest_token_seconds`` whatever happens to that login.
- Clocks of several gateways may differ a little: ``LEEWAY_SECONDS``.

Whether the session still lives is for ``gateway.accounts.sessions`` to say.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import jwt

from gateway.errors import InvalidTokenError
from gateway.settings import Settings

Role = Literal["admin", "user"]  # an access token's role claim, and an account's role
ROLES: Final[tuple[Role, ...]] = ("admin", "user")
TokenUse = Literal["access", "refresh"]  # the tokens of a login session
INGEST: Final = "ingest"
ALGORITHM: Final = "HS256"
LEEWAY_SECONDS: Final = 5
CLAIMS: Final = ("iss", "aud", "sub", "iat", "exp", "jti", "token_use")  # every kind


@dataclass(frozen=True)
class Claims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    token_id: uuid.UUID
    use: TokenUse
    issued_at: int
    expires_at: int
    role: Role | None = None  # access tokens only


@dataclass(frozen=True)
class IngestClaims:
    owner_id: uuid.UUID
    ecg_id: uuid.UUID
    token_id: uuid.UUID
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: Claims


@dataclass(frozen=True)
class IssuedIngestToken:
    token: str
    claims: IngestClaims


class Tokens:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._key = settings.jwt_secret.encode()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetimes: dict[TokenUse, int] = {
            "access": settings.access_token_seconds,
            "refresh": settings.refresh_token_seconds,
        }
        self._ingest_seconds = settings.ingest_token_seconds
        self._clock = clock

    def issue(
        self,
        use: TokenUse,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        *,
        not_after: float,
        role: Role | None = None,
    ) -> IssuedToken:
        """A new token, expiring after its lifetime or at ``not_after`` (the session's end)."""
        now = int(self._clock())
        expires = min(now + self._lifetimes[use], int(not_after))
        claims = Claims(user_id, session_id, uuid.uuid4(), use, now, expires, role)
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "iat": now,
            "exp": expires,
            "jti": str(claims.token_id),
            "sid": str(session_id),
            "token_use": use,
        }
        if use == "access":
            payload["role"] = role
        return IssuedToken(self._sign(payload), claims)

    def issue_ingest(self, owner_id: uuid.UUID, ecg_id: uuid.UUID) -> IssuedIngestToken:
        """A token for the chunks of the stream ``ecg_id`` and nothing else."""
        now = int(self._clock())
        claims = IngestClaims(owner_id, ecg_id, uuid.uuid4(), now, now + self._ingest_seconds)
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(owner_id),
            "iat": now,
            "exp": claims.expires_at,
            "jti": str(claims.token_id),
            "ecg": str(ecg_id),
            "token_use": INGEST,
        }
        return IssuedIngestToken(self._sign(payload), claims)

    def lifetime(self, use: TokenUse) -> int:
        return self._lifetimes[use]

    @property
    def ingest_lifetime(self) -> int:
        return self._ingest_seconds

    def verify(self, token: str, *uses: TokenUse) -> Claims:
        """The token's claims if it is genuine, current, ours and of one of ``uses``."""
        payload = self._decode(token)
        if payload["token_use"] == INGEST:
            raise _wrong_use(INGEST, uses)
        claims = self._claims(payload)
        if claims.use not in uses:
            raise _wrong_use(claims.use, uses)
        return claims

    def verify_stream(self, token: str) -> Claims | IngestClaims:
        """The claims of an ingest token or of an access token: who may send chunks."""
        payload = self._decode(token)
        if payload["token_use"] == INGEST:
            return self._ingest_claims(payload)
        claims = self._claims(payload)
        if claims.use != "access":
            raise _wrong_use(claims.use, ("access", INGEST))
        return claims

    def _sign(self, payload: dict[str, Any]) -> str:
        return jwt.encode(payload, self._key, algorithm=ALGORITHM, headers={"typ": "JWT"})

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(CLAIMS), "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("the token has expired") from None
        except jwt.PyJWTError:
            raise InvalidTokenError("the token is not valid") from None
        # Signed by us, yet checked as any input: a claim of the wrong type (a list for
        # token_use or role) would otherwise fail a dict or set lookup, a 500.
        if not isinstance(payload["token_use"], str) or not isinstance(
            payload.get("role", ""), str
        ):
            raise InvalidTokenError("the token is not valid")
        return payload

    def _claims(self, payload: dict[str, Any]) -> Claims:
        use, role = payload["token_use"], payload.get("role")
        issued_at, expires_at = payload["iat"], payload["exp"]
        if (
            use not in self._lifetimes
            or not all(type(t) is int for t in (issued_at, expires_at))
            or expires_at - issued_at > self._lifetimes[use]
            or issued_at > self._clock() + LEEWAY_SECONDS
            or (use == "access") != (role in ROLES)
        ):
            raise InvalidTokenError("the token is not valid")
        try:
            user_id, session_id, token_id = (
                uuid.UUID(payload.get(name)) for name in ("sub", "sid", "jti")
            )
        except (TypeError, ValueError, AttributeError):
            raise InvalidTokenError("the token is not valid") from None
        return Claims(
            user_id,
            session_id,
            token_id,
            cast(TokenUse, use),
            issued_at,
            expires_at,
            cast(Role | None, role),
        )

    def _ingest_claims(self, payload: dict[str, Any]) -> IngestClaims:
        issued_at, expires_at = payload["iat"], payload["exp"]
        if (
            not all(type(t) is int for t in (issued_at, expires_at))
            or expires_at - issued_at > self._ingest_seconds
            or issued_at > self._clock() + LEEWAY_SECONDS
            or "sid" in payload
            or "role" in payload
        ):
            raise InvalidTokenError("the token is not valid")
        try:
            owner_id, ecg_id, token_id = (
                uuid.UUID(payload.get(name)) for name in ("sub", "ecg", "jti")
            )
        except (TypeError, ValueError, AttributeError):
            raise InvalidTokenError("the token is not valid") from None
        return IngestClaims(owner_id, ecg_id, token_id, issued_at, expires_at)


def _wrong_use(use: str, wanted: tuple[str, ...]) -> InvalidTokenError:
    listed = " or ".join(f"{kind!r}" for kind in sorted(wanted))
    return InvalidTokenError(
        f"the token's token_use is {use!r}; this endpoint takes {listed} tokens"
    )
