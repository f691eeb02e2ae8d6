"""``/api/v1/auth/``: login, refresh, logout, register, password.

| method, path | token | does |
|---|---|---|
| ``POST login`` | none | ``{email, password}`` → a token pair |
| ``GET refresh`` | refresh | a new pair; the presented refresh token is spent |
| ``POST logout`` | access or refresh | ends the session (every token of that login) → 204 |
| ``POST register`` | access, admin | ``{email, password, role?}`` → 201 ``{id, email, role}`` |
| ``POST password`` | access | ``{current_password, new_password}`` → 204; ends every session |

Token pairs are ``{access_token, refresh_token, token_type: "bearer", expires_in}``
with ``Cache-Control: no-store`` (RFC 6749 5.1).
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.accounts.credentials import parse_login, parse_password_change, parse_registration
from gateway.accounts.service import TokenPair
from gateway.accounts.state import AccountsState
from gateway.audit import client_address
from gateway.authentication import Authenticator, authorize, bearer_token
from gateway.body import decode_json, read_body

MAX_AUTH_BODY_BYTES: Final = 16 * 1024
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class AccountEndpoints:
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/auth/login", self.login, methods=["POST"], name="login"),
            Route("/api/v1/auth/refresh", self.refresh, methods=["GET"], name="refresh"),
            Route("/api/v1/auth/logout", self.logout, methods=["POST"], name="logout"),
            Route("/api/v1/auth/register", self.register, methods=["POST"], name="register"),
            Route("/api/v1/auth/password", self.password, methods=["POST"], name="password"),
        ]

    async def login(self, request: Request[AccountsState]) -> Response:
        email, password = parse_login(await _document(request))
        pair = await request.state["accounts"].login(email, password, client_address(request))
        return _pair(pair)

    async def refresh(self, request: Request[AccountsState]) -> Response:
        token = bearer_token(request)
        claims = self._authenticator.verify(token, "refresh")
        pair = await request.state["accounts"].refresh(claims, token, client_address(request))
        return _pair(pair)

    async def logout(self, request: Request[AccountsState]) -> Response:
        claims = self._authenticator.claims(request, "access", "refresh")
        await request.state["accounts"].logout(claims, client_address(request))
        return Response(status_code=204)

    async def register(self, request: Request[AccountsState]) -> Response:
        claims = self._authenticator.claims(request, "access")
        async with request.state["audit"].trail(request, "auth.register") as trail:
            principal = await self._authenticator.principal(request, claims)
            trail.actor_id = principal.user_id
            authorize(principal, "admin")
            registration = parse_registration(await _document(request))
            trail.detail.update(email=registration.email, role=registration.role)
            user = await request.state["accounts"].register(registration)
            trail.object_id = str(user.id)
        return JSONResponse(
            {"id": str(user.id), "email": user.email, "role": user.role}, status_code=201
        )

    async def password(self, request: Request[AccountsState]) -> Response:
        claims = self._authenticator.claims(request, "access")
        async with request.state["audit"].trail(request, "auth.password_change") as trail:
            principal = await self._authenticator.principal(request, claims)
            trail.actor_id = principal.user_id
            trail.object_id = str(principal.user_id)
            current, new = parse_password_change(await _document(request))
            await request.state["accounts"].change_password(
                principal, current, new, client_address(request)
            )
        return Response(status_code=204)


async def _document(request: Request[AccountsState]) -> dict[str, object]:
    return decode_json(await read_body(request, MAX_AUTH_BODY_BYTES))


def _pair(pair: TokenPair) -> Response:
    return JSONResponse(pair.body(), headers=NO_STORE)
