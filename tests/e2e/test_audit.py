"""Every access and every auth event leaves an audit row in PostgreSQL, and no row
holds a password, a token or a sample."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import Account, log_in, make_admin, new_email, new_password


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def rows_about(database: asyncpg.Connection, *ids: str) -> list[dict[str, Any]]:
    rows = await database.fetch(
        """
        SELECT at, actor_id::text, actor_email, action, object_id, outcome,
               host(client_address) AS client_address, detail::text, row_to_json(a)::text AS raw
        FROM audit_log a
        WHERE actor_id::text = ANY($1) OR object_id = ANY($1) OR actor_email = ANY($1)
        ORDER BY id
        """,
        list(ids),
    )
    return [dict(row) for row in rows]


async def test_a_users_day_is_on_record_without_secrets(
    http: httpx.AsyncClient, database: asyncpg.Connection, database_url: str
) -> None:
    admin = await make_admin(http, database_url)  # auth.admin_created, auth.login
    user = Account(new_email(), new_password())
    registered = await http.post(
        "/api/v1/auth/register",
        json={"email": user.email, "password": user.password},
        headers=admin.headers(),
    )
    assert registered.status_code == 201
    user.id = registered.json()["id"]
    assert (await log_in(http, user)).status_code == 200
    secrets_seen = {admin.password, user.password, admin.access_token, admin.refresh_token}

    wrong = await log_in(http, type(user)(user.email, "a-wrong-password-7", user.address))
    assert wrong.status_code == 401
    secrets_seen |= {user.access_token, user.refresh_token}
    signal = [7919, -7907, 7901, -7883]  # primes: easy to spot if they leaked
    ecg_id = str(uuid4())
    body = {
        "id": ecg_id,
        "date": "2024-05-01T10:00:00Z",
        "leads": [{"name": "I", "signal": signal}],
    }
    assert (await http.post("/api/v1/ecg/", json=body, headers=user.headers())).status_code == 202
    assert (await http.get(f"/api/v1/ecg/{ecg_id}", headers=user.headers())).status_code == 200
    unknown = str(uuid4())
    assert (await http.get(f"/api/v1/ecg/{unknown}", headers=user.headers())).status_code == 404
    bad = {"date": "2024-05-01T10:00:00Z", "leads": [{"name": "nope", "signal": [1]}]}
    assert (await http.post("/api/v1/ecg/", json=bad, headers=user.headers())).status_code == 422
    assert (await http.get(f"/api/v1/ecg/{ecg_id}", headers=admin.headers())).status_code == 403

    stolen = user.refresh_token
    refreshed = await http.get("/api/v1/auth/refresh", headers=user.headers(stolen))
    user.take(refreshed.json())
    secrets_seen |= {user.access_token, user.refresh_token}
    assert (await http.get("/api/v1/auth/refresh", headers=user.headers(stolen))).status_code == 401
    assert (await log_in(http, user)).status_code == 200
    secrets_seen |= {user.access_token, user.refresh_token}
    new = new_password()
    secrets_seen.add(new)
    changed = await http.post(
        "/api/v1/auth/password",
        json={"current_password": user.password, "new_password": new},
        headers=user.headers(),
    )
    assert changed.status_code == 204
    user.password = new
    assert (await log_in(http, user)).status_code == 200
    secrets_seen |= {user.access_token, user.refresh_token}
    assert (await http.post("/api/v1/auth/logout", headers=user.headers())).status_code == 204
    assert (await http.get(f"/api/v1/ecg/{ecg_id}", headers=user.headers())).status_code == 401

    rows = await rows_about(database, user.id, admin.id)
    events = [(row["action"], row["outcome"], row["actor_id"]) for row in rows]
    expected = [
        ("auth.admin_created", "success", None),
        ("auth.login", "success", admin.id),
        ("auth.register", "success", admin.id),
        ("auth.login", "success", user.id),
        ("auth.login", "failure", user.id),
        ("ecg.upload", "success", user.id),
        ("ecg.lookup", "success", user.id),
        ("ecg.lookup", "not_found", user.id),
        ("ecg.upload", "invalid", user.id),
        ("ecg.lookup", "forbidden", admin.id),
        ("auth.refresh", "success", user.id),
        ("auth.refresh_reuse", "session_revoked", user.id),
        ("auth.login", "success", user.id),
        ("auth.password_change", "success", user.id),
        ("auth.login", "success", user.id),
        ("auth.logout", "success", user.id),
        ("ecg.lookup", "revoked", user.id),
    ]
    assert events == expected

    by_action = {(row["action"], row["outcome"]): row for row in rows}
    assert by_action[("ecg.lookup", "success")]["object_id"] == ecg_id
    assert by_action[("ecg.lookup", "not_found")]["object_id"] == unknown
    assert by_action[("auth.register", "success")]["object_id"] == user.id
    assert by_action[("auth.login", "failure")]["actor_email"] == user.email
    assert json.loads(by_action[("auth.register", "success")]["detail"]) == {
        "email": user.email,
        "role": "user",
    }
    for row in rows:
        assert row["at"].utcoffset().total_seconds() == 0
    for row in rows[1:]:  # the CLI's row has no client address
        assert row["client_address"] in {user.address, admin.address}

    everything = "\n".join(row["raw"] for row in rows)
    for secret in secrets_seen:
        assert secret not in everything
    for sample in signal[1::2]:  # a minus and six digits: neither a uuid nor a time
        assert str(sample) not in everything
    assert "a-wrong-password-7" not in everything
