"""Who may see an ECG: its owner only; admins none at all."""

from __future__ import annotations

from uuid import uuid4

import httpx

from tests.e2e.conftest import Account, NewUser

PROBLEM_JSON = "application/problem+json"


def ecg(ecg_id: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "date": "2024-05-01T10:00:00Z",
        "leads": [{"name": "II", "signal": [3, -1, 4, -1, 5]}],
    }
    if ecg_id is not None:
        body["id"] = ecg_id
    return body


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    # The date and every request's own id differ whatever the answer.
    per_request = {"date", "server", "x-request-id"}
    headers = [(k, v) for k, v in response.headers.items() if k not in per_request]
    return response.status_code, headers, response.content


async def test_another_users_ecg_is_exactly_an_unknown_id(
    http: httpx.AsyncClient, new_user: NewUser
) -> None:
    owner, stranger = await new_user(), await new_user()
    ecg_id = str(uuid4())
    path = f"/api/v1/ecg/{ecg_id}"
    before = await http.get(path, headers=stranger.headers())  # the id is unknown yet
    assert before.status_code == 404
    uploaded = await http.post("/api/v1/ecg/", json=ecg(ecg_id), headers=owner.headers())
    assert uploaded.status_code == 202, uploaded.text
    assert (await http.get(path, headers=owner.headers())).status_code == 200

    after = await http.get(path, headers=stranger.headers())  # now it is someone else's
    assert comparable(after) == comparable(before)
    assert after.content == before.content  # byte for byte, detail text included
    assert after.headers["content-type"] == PROBLEM_JSON
    assert after.json()["detail"] == f"no ECG with id {ecg_id}"


async def test_admins_may_neither_upload_nor_read(
    http: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    response = await http.post("/api/v1/ecg/", json=ecg(), headers=admin.headers())
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "administrators" in response.json()["detail"]

    uploaded = await http.post("/api/v1/ecg/", json=ecg(), headers=user.headers())
    assert uploaded.status_code == 202
    for path in [f"/api/v1/ecg/{uploaded.json()['id']}", f"/api/v1/ecg/{uuid4()}"]:
        looked_up = await http.get(path, headers=admin.headers())
        assert looked_up.status_code == 403
        assert "summary" not in looked_up.text


async def test_every_ecg_endpoint_needs_a_token(http: httpx.AsyncClient, user: Account) -> None:
    uploaded = await http.post("/api/v1/ecg/", json=ecg(), headers=user.headers())
    for response in [
        await http.post("/api/v1/ecg/", json=ecg()),
        await http.get(f"/api/v1/ecg/{uploaded.json()['id']}"),
    ]:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="ecg-pipeline"'
        assert response.headers["content-type"] == PROBLEM_JSON
