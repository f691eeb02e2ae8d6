"""Access and refresh tokens: JWTs made and checked as RFC 8725 advises.

- One algorithm, pinned: HS256 with ``ECG_JWT_SECRET``. A token whose header names any
  other (``none``, HS384, RS256 or ES256 for the key-confusion attack) is refused
  before its signature is looked at; the key is never chosen from the token.
- Every claim is required and checked: ``iss``, ``aud`` (exactly ours), ``sub`` (a user
  id), ``iat``, ``exp``, ``jti``, ``sid`` (the session, i.e. the refresh family) and
  ``token_use``; access tokens carry the ``role`` too. A token living longer than its
  kind may (``exp - iat``) is refused, as is one issued in the future.
- ``token_use`` keeps the two kinds apart: an access token is refused where a refresh
  token is expected, and the reverse.
- Clocks of several gateways may differ a little: ``LEEWAY_SECONDS``.

Whether the session still lives is for ``gateway.sessions`` to say.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import jwt

from gateway.credentials import ROLES, Role
from gateway.errors import InvalidTokenError
from gateway.settings import Settings

TokenUse = Literal["access", "refresh"]
ALGORITHM: Final = "HS256"
LEEWAY_SECONDS: Final = 5
CLAIMS: Final = ("iss", "aud", "sub", "iat", "exp", "jti", "sid", "token_use")


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
class IssuedToken:
    token: str
    claims: Claims


class Tokens:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._key = settings.jwt_secret.encode()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetimes: dict[TokenUse, int] = {
            "access": settings.access_token_seconds,
            "refresh": settings.refresh_token_seconds,
        }
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
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM, headers={"typ": "JWT"})
        return IssuedToken(token, claims)

    def lifetime(self, use: TokenUse) -> int:
        return self._lifetimes[use]

    def verify(self, token: str, *uses: TokenUse) -> Claims:
        """The token's claims if it is genuine, current, ours and of one of ``uses``."""
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
        claims = self._claims(payload)
        if claims.use not in uses:
            wanted = " or ".join(f"{use!r}" for use in sorted(uses))
            raise InvalidTokenError(
                f"the token's token_use is {claims.use!r}; this endpoint takes {wanted} tokens"
            )
        return claims

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
                uuid.UUID(payload[name]) for name in ("sub", "sid", "jti")
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
