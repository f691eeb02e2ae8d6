"""Who is calling: the bearer token of a request, checked down to its session.

``claims`` needs no service: header, signature, claims; a request that fails there
is refused before anything else happens. ``principal`` adds the database check of
``gateway.accounts.sessions`` (the session lives, the user exists, the password has not
changed since): what every ECG endpoint requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, TypeVar
from uuid import UUID

from starlette.requests import Request

from gateway.errors import ForbiddenError, InvalidTokenError, MissingTokenError, RevokedTokenError
from gateway.tokens import Claims, IngestClaims, Role, Tokens, TokenUse

MAX_TOKEN_LENGTH = 4096


class SessionCheck(Protocol):
    async def check_access(self, claims: Claims) -> Role | None: ...


class AuthenticationState(TypedDict):
    """What ``Authenticator.principal`` reads from ``request.state``; the state of every
    room extends it, and ``gateway.accounts.sessions`` is what the lifespan puts there."""

    sessions: SessionCheck


StateT = TypeVar("StateT", bound=AuthenticationState)


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    role: Role
    claims: Claims


def bearer_token(request: Request[Any]) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise MissingTokenError()
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise MissingTokenError()
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("the token is not valid")
    return token


class Authenticator:
    def __init__(self, tokens: Tokens) -> None:
        self._tokens = tokens

    def claims(self, request: Request[Any], *uses: TokenUse) -> Claims:
        return self.verify(bearer_token(request), *uses)

    def verify(self, token: str, *uses: TokenUse) -> Claims:
        return self._tokens.verify(token, *uses)

    def verify_stream(self, token: str) -> Claims | IngestClaims:
        """An access token, or an ingest token: what the chunks of a stream take."""
        return self._tokens.verify_stream(token)

    async def principal(self, request: Request[StateT], claims: Claims) -> Principal:
        """The caller of an access token (``claims``) whose session lives, with the role
        that the database holds now (not the one in the claim)."""
        role = await request.state["sessions"].check_access(claims)
        if role is None:
            raise RevokedTokenError(claims.user_id)
        return Principal(claims.user_id, role, claims)


def authorize(principal: Principal, role: Role) -> None:
    if principal.role != role:
        raise ForbiddenError(FORBIDDEN[principal.role])


FORBIDDEN: dict[Role, str] = {
    "admin": "administrators manage accounts; they cannot upload or read ECGs",
    "user": "only administrators may do this",
}
