"""``/api/v1/users``: administrators manage accounts (they never touch ECGs).

| method, path | does |
|---|---|
| ``GET users?limit=&after=`` | ``{users: [{id, email, role, disabled}], next}``, oldest first |
| ``PATCH users/{user_id}`` | ``{disabled?, role?}`` → the account; disabling ends its sessions |
| ``POST users/{user_id}/password`` | ``{password}`` → 204; ends every session of the account |

An admin's live access token only (a user gets 403), and every action leaves an audit
row whatever its outcome. A disabled account cannot log in (403 account-disabled with
the right password), and every token it holds is refused from then on: access and
refresh tokens by their session (``gateway.accounts.sessions``), ingest tokens by their
owner (``gateway.devices.access``). An admin cannot disable or demote their own account,
so the last administrator cannot lock everyone out.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.accounts.credentials import MAX_PASSWORD_LENGTH
from gateway.accounts.state import AccountsState
from gateway.accounts.users import User
from gateway.audit import Trail
from gateway.authentication import Authenticator, Principal, authorize
from gateway.body import decode_json, read_body
from gateway.declarations import (
    Boolean,
    Choice,
    Field,
    Obj,
    Query,
    QueryInteger,
    QueryUuid,
    Secret,
)
from gateway.errors import FieldError, InvalidInputError, describe
from gateway.fields import Findings, parse_uuid

MAX_BODY_BYTES: Final = 16 * 1024
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
USERS_QUERY: Final = Query(
    (
        QueryInteger("limit", DEFAULT_LIMIT, 1, MAX_LIMIT, "accounts per page"),
        QueryUuid("after", "the accounts created after this one (default: from the first)"),
    )
)
USER_CHANGE: Final = Obj(
    (
        Field("disabled", Boolean(), description="true ends every session of the account"),
        Field("role", Choice(("user", "admin"))),
    ),
    title="AccountChange",
    description="What to change; a field left out (or null) stays as it is.",
)
PASSWORD_RESET: Final = Obj(
    (
        Field(
            "password",
            Secret(4 * MAX_PASSWORD_LENGTH, format="password"),
            required=True,
            description="the new password, under the policy of registration",
        ),
    ),
    title="PasswordReset",
)


class UserEndpoints:
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/users", self.list, methods=["GET"], name="users"),
            Route("/api/v1/users/{user_id}", self.update, methods=["PATCH"], name="user"),
            Route(
                "/api/v1/users/{user_id}/password",
                self.reset_password,
                methods=["POST"],
                name="user_password",
            ),
        ]

    async def list(self, request: Request[AccountsState]) -> Response:
        async with request.state["audit"].trail(request, "admin.users_list") as trail:
            await self._admin(request, trail)
            query = USERS_QUERY.check(request.query_params)
            page = await request.state["accounts"].users(query["after"], query["limit"])
        following = None
        if page.more:
            path = request.app.url_path_for("users")
            last = page.users[-1].id
            following = f"{path}?{urlencode({'after': str(last), 'limit': query['limit']})}"
        body = {"users": [account(user) for user in page.users], "next": following}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def update(self, request: Request[AccountsState]) -> Response:
        async with request.state["audit"].trail(request, "admin.user_update") as trail:
            admin = await self._admin(request, trail)
            user_id = _user_id(request)
            trail.object_id = str(user_id)
            document = decode_json(await read_body(request, MAX_BODY_BYTES))
            found = Findings()
            change = USER_CHANGE.members(document, "", found)
            found.raise_if_any()
            trail.detail.update({k: v for k, v in change.items() if v is not None})
            user, ended = await request.state["accounts"].update_user(
                admin, user_id, change["disabled"], change["role"]
            )
            if ended:
                trail.detail["sessions_ended"] = ended
        return JSONResponse(account(user), headers={"Cache-Control": "no-store"})

    async def reset_password(self, request: Request[AccountsState]) -> Response:
        async with request.state["audit"].trail(request, "admin.password_reset") as trail:
            await self._admin(request, trail)
            user_id = _user_id(request)
            trail.object_id = str(user_id)
            document = decode_json(await read_body(request, MAX_BODY_BYTES))
            found = Findings()
            password = PASSWORD_RESET.members(document, "", found)["password"]
            found.raise_if_any()
            ended = await request.state["accounts"].reset_password(user_id, password)
            trail.detail["sessions_ended"] = ended
        return Response(status_code=204)

    async def _admin(self, request: Request[AccountsState], trail: Trail) -> Principal:
        claims = self._authenticator.claims(request, "access")
        principal = await self._authenticator.principal(request, claims)
        trail.actor_id = principal.user_id
        authorize(principal, "admin")
        return principal


def account(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "email": user.email, "role": user.role, "disabled": user.disabled}


def _user_id(request: Request[Any]) -> UUID:
    text = request.path_params["user_id"]
    parsed = parse_uuid(text)
    if parsed is None:
        raise InvalidInputError(
            [FieldError("user_id", f"expected a UUID in the path, got {describe(text)}")]
        )
    return parsed
