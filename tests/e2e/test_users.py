"""Accounts for administrators through the running stack: the list, disabling (every
token of the account refused within a second, WebSocket included), enabling, a password
reset, the guard on one's own account, the audit rows; and ingest tokens revoked by a
password change."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import Account, NewUser, log_in, make_admin, new_password
from tests.e2e.streaming import PROBLEM_JSON, device, open_stream, send
from tests.e2e.test_stream_socket import answer, chunk, dial

SIGNAL = [[1, 2, 3], [4, 5, 6]]


async def patch(
    http: httpx.AsyncClient, admin: Account, user_id: str, **change: Any
) -> httpx.Response:
    return await http.patch(f"/api/v1/users/{user_id}", json=change, headers=admin.headers())


async def refused_within_a_second(call: Any) -> httpx.Response:
    """The first answer of ``call()`` that is not a success, within a second."""
    deadline = time.monotonic() + 1.0
    while True:
        response: httpx.Response = await call()
        if response.status_code >= 400 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.05)


async def test_the_list_pages_through_every_account(
    http: httpx.AsyncClient, admin: Account, new_user: NewUser
) -> None:
    made = {(await new_user()).id for _ in range(3)}
    seen: list[dict[str, Any]] = []
    url: str | None = "/api/v1/users?limit=2"
    while url is not None:
        response = await http.get(url, headers=admin.headers())
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        page = response.json()
        assert len(page["users"]) <= 2
        seen += page["users"]
        url = page["next"]
    ids = [account["id"] for account in seen]
    assert len(ids) == len(set(ids))
    assert made <= set(ids)
    mine = next(account for account in seen if account["id"] == admin.id)
    assert mine == {"id": admin.id, "email": admin.email, "role": "admin", "disabled": False}
    assert set(seen[0]) == {"id", "email", "role", "disabled"}


async def test_only_admins_manage_accounts(
    http: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    for method, path, body in (
        ("GET", "/api/v1/users", None),
        ("PATCH", f"/api/v1/users/{admin.id}", {"disabled": True}),
        ("POST", f"/api/v1/users/{admin.id}/password", {"password": new_password()}),
    ):
        as_user = await http.request(method, path, json=body, headers=user.headers())
        assert as_user.status_code == 403, as_user.text
        assert as_user.headers["content-type"] == PROBLEM_JSON
        anonymous = await http.request(method, path, json=body)
        assert anonymous.status_code == 401, anonymous.text


async def test_disabling_refuses_every_token_within_a_second_and_enabling_restores_login(
    http: httpx.AsyncClient, gateway_url: str, admin: Account, user: Account
) -> None:
    client = httpx.AsyncClient(base_url=gateway_url, headers=user.headers(), timeout=60)
    async with client:
        ecg_id, ingest = await open_stream(client)
        second_id, second_ingest = await open_stream(client)
        assert (await send(http, ecg_id, ingest, 0, SIGNAL)).status_code == 202
        async with dial(gateway_url, second_id, second_ingest) as socket:
            assert (await answer(socket))["type"] == "ready"
            await socket.send(chunk(0, SIGNAL))
            assert await answer(socket) == {"type": "ack", "seq": 0}

            disabled = await patch(http, admin, user.id, disabled=True)
            assert disabled.status_code == 200, disabled.text
            assert disabled.json()["disabled"] is True
            at = time.monotonic()

            lookup = await refused_within_a_second(lambda: client.get(f"/api/v1/ecg/{ecg_id}"))
            assert lookup.status_code == 401, lookup.text
            refresh = await http.get(
                "/api/v1/auth/refresh", headers=user.headers(user.refresh_token)
            )
            assert refresh.status_code == 401, refresh.text
            chunk_1 = await refused_within_a_second(lambda: send(http, ecg_id, ingest, 1, SIGNAL))
            assert chunk_1.status_code == 401, chunk_1.text
            assert "revoked" in chunk_1.json()["detail"]
            # The WebSocket's next frame after at most a second is refused, and it closes.
            await asyncio.sleep(max(0.0, at + 1.05 - time.monotonic()))
            await socket.send(chunk(1, SIGNAL))
            refusal = await answer(socket)
            assert refusal["type"] == "error", refusal
            assert refusal["problem"]["status"] == 401
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401

    again = await log_in(http, user)
    assert again.status_code == 403, again.text
    assert again.json()["type"] == "/problems/account-disabled"
    wrong = await http.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": "not-" + user.password},
        headers={"X-Forwarded-For": user.address},
    )
    assert wrong.status_code == 401, "a wrong password says nothing about the account"

    enabled = await patch(http, admin, user.id, disabled=False)
    assert enabled.json()["disabled"] is False
    assert (await log_in(http, user)).status_code == 200
    assert (await http.get(f"/api/v1/ecg/{ecg_id}", headers=user.headers())).status_code == 200


async def test_a_reset_password_ends_the_sessions_and_follows_the_policy(
    http: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    weak = await http.post(
        f"/api/v1/users/{user.id}/password", json={"password": "password1"}, headers=admin.headers()
    )
    assert weak.status_code == 422, weak.text
    assert weak.json()["errors"][0]["field"] == "password"
    old_token = user.access_token
    user.password = new_password()
    reset = await http.post(
        f"/api/v1/users/{user.id}/password",
        json={"password": user.password},
        headers=admin.headers(),
    )
    assert reset.status_code == 204, reset.text
    lookup = await http.get(
        "/api/v1/ecg/00000000-0000-4000-8000-000000000000", headers=user.headers(old_token)
    )
    assert lookup.status_code == 401
    assert (await log_in(http, user)).status_code == 200


async def test_an_admin_cannot_disable_or_demote_their_own_account(
    http: httpx.AsyncClient, gateway_url: str, database_url: str
) -> None:
    admin = await make_admin(http, database_url)  # its own: a slip must not end the shared one
    for change in ({"disabled": True}, {"role": "user"}):
        response = await patch(http, admin, admin.id, **change)
        assert response.status_code == 409, response.text
        assert response.json()["type"] == "/problems/own-account"
    other = await make_admin(http, database_url)
    demoted = await patch(http, admin, other.id, role="user")
    assert demoted.json()["role"] == "user"
    unknown = await patch(http, admin, "00000000-0000-4000-8000-000000000000", disabled=True)
    assert unknown.status_code == 404
    typo = await patch(http, admin, other.id, disable=True)
    assert typo.status_code == 422
    assert "did you mean 'disabled'?" in typo.text


async def test_admin_actions_are_on_record(
    http: httpx.AsyncClient, db: asyncpg.Connection, admin: Account, user: Account
) -> None:
    await patch(http, admin, user.id, disabled=True)
    await patch(http, admin, user.id, disabled=False)
    rows = await db.fetch(
        """
        SELECT action, outcome, actor_id::text, object_id, detail FROM audit_log
        WHERE object_id = $1 AND action = 'admin.user_update' ORDER BY id
        """,
        user.id,
    )
    assert [(r["outcome"], r["actor_id"]) for r in rows] == [("success", admin.id)] * 2
    details = [
        json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"] for r in rows
    ]
    assert details[0]["disabled"] is True
    assert details[0]["sessions_ended"] >= 1
    assert details[1]["disabled"] is False


async def test_a_password_change_revokes_the_ingest_tokens_of_its_streams(
    http: httpx.AsyncClient, client: httpx.AsyncClient, user: Account
) -> None:
    ecg_id, ingest = await open_stream(client)
    assert (await send(http, ecg_id, ingest, 0, SIGNAL)).status_code == 202
    await asyncio.sleep(1.1)  # a password change counts in whole seconds after the token
    new = new_password()
    changed = await client.post(
        "/api/v1/auth/password", json={"current_password": user.password, "new_password": new}
    )
    assert changed.status_code == 204, changed.text
    refused = await send(http, ecg_id, ingest, 1, SIGNAL)
    assert refused.status_code == 401, refused.text
    user.password = new
    assert (await log_in(http, user)).status_code == 200
    # The owner goes on with an access token.
    assert (await send(http, ecg_id, user.access_token, 1, SIGNAL)).status_code == 202
    end = await http.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(ingest))
    assert end.status_code == 401
