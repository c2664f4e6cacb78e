"""Check-then-act under concurrency: N identical requests at once → exactly one effect, the others a clean
4xx with a message that says why, never a 500 (SQLite serialises writers; PostgreSQL runs them at once)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from kefu.core.constants import Role
from tests.support.factories import World, uniq

N = 10


async def _burst(c: httpx.AsyncClient, method: str, path: str, body: object = None) -> list[httpx.Response]:
    return list(await asyncio.gather(*(c.request(method, path, json=body) for _ in range(N))))


def _codes(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


async def test_one_user_per_email(api: World) -> None:
    email = f"{uniq('same')}@test.kefu"
    body = {"email": email, "name": "Same", "password": "long enough 1"}
    rs = await _burst(api.http, "POST", "/api/v1/users", body)
    assert _codes(rs) == {201: 1, 409: N - 1}
    assert {r.json()["error"]["message"] for r in rs if r.status_code == 409} == {
        f"a user with email {email} already exists"
    }
    users = [u for u in (await api.http.get("/api/v1/users")).json() if u["email"] == email]
    assert len(users) == 1
    created = (await api.http.get("/api/v1/events", params={"type": "user.created"})).json()
    assert [e["payload"]["email"] for e in created].count(email) == 1


async def test_one_team_per_name(api: World) -> None:
    name = uniq("Team ")
    rs = await _burst(api.http, "POST", "/api/v1/teams", {"name": name})
    assert _codes(rs) == {201: 1, 409: N - 1}
    assert {r.json()["error"]["message"] for r in rs if r.status_code == 409} == {
        f"a team named {name!r} already exists"
    }
    assert [t["name"] for t in (await api.http.get("/api/v1/teams")).json()].count(name) == 1


async def test_parallel_member_updates_leave_one_consistent_list(api: World) -> None:
    members = [(await api.user(Role.AGENT)).id for _ in range(3)]
    team = (await api.http.post("/api/v1/teams", json={"name": uniq("T ")})).json()
    rs = await _burst(api.http, "PATCH", f"/api/v1/teams/{team['id']}", {"member_ids": members})
    assert _codes(rs) == {200: N}
    assert all(r.json()["member_ids"] == sorted(members) for r in rs)
    assert (await api.http.get(f"/api/v1/teams/{team['id']}")).json()["member_ids"] == sorted(members)


async def test_a_token_is_revoked_once(api: World) -> None:
    token = (await api.http.post("/api/v1/api_tokens", json={"name": "zapier"})).json()
    rs = await _burst(api.http, "DELETE", f"/api/v1/api_tokens/{token['id']}")
    assert _codes(rs) == {200: N}
    assert len({r.json()["revoked_at"] for r in rs}) == 1  # every answer shows the one revocation
    revoked = (await api.http.get("/api/v1/events", params={"type": "api_token.revoked"})).json()
    assert [e["payload"]["id"] for e in revoked] == [token["id"]]


async def test_parallel_token_creation_makes_distinct_tokens(api: World) -> None:
    rs = await _burst(api.http, "POST", "/api/v1/api_tokens", {"name": "burst"})
    assert _codes(rs) == {201: N}
    assert len({r.json()["token"] for r in rs}) == N


async def test_parallel_sign_outs_each_bump_the_version(api: World) -> None:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox)
    rs = await _burst(api.http, "POST", f"/api/v1/contacts/{visitor.contact_id}/sign_out")
    assert _codes(rs) == {200: N}
    assert sorted(r.json()["token_version"] for r in rs) == list(range(1, N + 1))
