"""Login, sessions + CSRF, API tokens, roles."""

from __future__ import annotations

import asyncio
import random

from kefu.core.constants import Role
from tests.support.factories import PASSWORD, World, uniq


async def _login(
    api: World, email: str, password: str = PASSWORD, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    c = api.client()
    r = await c.post("/api/v1/auth/login", json={"email": email, "password": password}, headers=headers)
    return r.status_code, r.json()


def fake_ip() -> str:
    """A client address of its own (the test server trusts X-Forwarded-For from 127.0.0.1)."""
    n = random.randrange(1, 2**24 - 1)
    return f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}"


async def test_login_sets_session_cookie_and_csrf_protects_writes(api: World) -> None:
    agent = await api.user(Role.AGENT, name="Li")
    c = api.client()
    r = await c.post("/api/v1/auth/login", json={"email": agent.email.upper(), "password": PASSWORD})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    assert r.json()["email"] == agent.email
    assert (await c.get("/api/v1/me")).json()["id"] == agent.id

    _, conv = await api.conversation()
    path = f"/api/v1/conversations/{conv['id']}/messages"
    denied = await c.post(path, json={"content": "hi"})
    assert denied.status_code == 403
    assert denied.json()["error"] == {
        "code": "csrf_failed",
        "message": "missing or wrong CSRF token (send the X-CSRF-Token header)",
    }
    wrong = await c.post(path, json={"content": "hi"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    msgs = (await api.http.get(path)).json()
    assert [m["content"] for m in msgs] == ["你好，我想咨询一下订单"]  # nothing written

    ok = await c.post(path, json={"content": "hi"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    assert ok.json()["sender_id"] == agent.id

    out = await c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert (await c.get("/api/v1/me")).status_code == 401


async def test_wrong_password_and_unknown_email_get_the_same_401(api: World) -> None:
    agent = await api.user(Role.AGENT)
    assert await _login(api, agent.email, "wrong password") == (
        401,
        {"error": {"code": "unauthorized", "message": "wrong email or password"}},
    )
    assert await _login(api, "nobody@test.kefu", "wrong password") == (
        401,
        {"error": {"code": "unauthorized", "message": "wrong email or password"}},
    )


async def test_login_is_rate_limited_per_email_and_address_not_for_everyone(api: World) -> None:
    agent = await api.user(Role.AGENT)
    attacker, owner = {"X-Forwarded-For": fake_ip()}, {"X-Forwarded-For": fake_ip()}
    for _ in range(5):
        assert (await _login(api, agent.email, "bad", attacker))[0] == 401
    r = await api.client().post(
        "/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD}, headers=attacker
    )
    assert r.status_code == 429
    assert r.json()["error"] == {"code": "rate_limited", "message": "too many failed logins; try again in 300 s"}
    assert r.headers["Retry-After"] == "300"
    # Each further attempt doubles the wait.
    r = await api.client().post("/api/v1/auth/login", json={"email": agent.email, "password": "x"}, headers=attacker)
    assert (r.status_code, r.headers["Retry-After"]) == (429, "600")
    # The owner, from another address, is not locked out.
    assert (await _login(api, agent.email, PASSWORD, owner))[0] == 200


async def test_parallel_login_attempts_are_counted_before_the_password_is_checked(api: World) -> None:
    """30 wrong passwords at once, then the right one: only the limit's worth is checked (401), the rest
    429; the right password stays refused from that address and works from another one."""
    agent = await api.user(Role.AGENT)
    burst, other = {"X-Forwarded-For": fake_ip()}, {"X-Forwarded-For": fake_ip()}
    results = await asyncio.gather(*(_login(api, agent.email, f"guess {i}", burst) for i in range(30)))
    assert sorted(code for code, _ in results) == [401] * 5 + [429] * 25
    assert (await _login(api, agent.email, PASSWORD, burst))[0] == 429
    status, body = await _login(api, agent.email, PASSWORD, other)
    assert (status, body["id"]) == (200, agent.id)


async def test_one_address_is_limited_over_all_accounts_but_high_enough_for_an_office(api: World) -> None:
    office = {"X-Forwarded-For": fake_ip()}
    limit = api.server.settings.login_ip_max_attempts
    assert limit == 100
    users = [await api.user(Role.AGENT) for _ in range(3)]
    emails = [f"{uniq('nobody')}@test.kefu" for _ in range(limit - 1)]
    results = await asyncio.gather(*(_login(api, e, "wrong", office) for e in emails))
    assert {code for code, _ in results} == {401}
    # Right passwords give their attempt back: colleagues still log in.
    for user in users:
        assert (await _login(api, user.email, PASSWORD, office))[0] == 200
    assert (await _login(api, emails[0], "wrong", office))[0] == 401  # the 100th failure
    assert (await _login(api, users[0].email, PASSWORD, office))[0] == 429
    assert (await _login(api, users[0].email, PASSWORD, {"X-Forwarded-For": fake_ip()}))[0] == 200


async def test_x_forwarded_for_is_ignored_from_untrusted_peers() -> None:
    from kefu.core.guards import ClientAddress

    trusting = ClientAddress(None, "127.0.0.1, 10.0.0.0/8")
    assert trusting.client_of("127.0.0.1", "198.51.100.7, 10.1.2.3") == "198.51.100.7"
    assert trusting.client_of("127.0.0.1", "garbage") == "127.0.0.1"
    assert trusting.client_of("203.0.113.9", "198.51.100.7") == "203.0.113.9"
    assert ClientAddress(None, "").client_of("127.0.0.1", "198.51.100.7") == "127.0.0.1"


async def test_deactivated_user_cannot_log_in_or_use_tokens(api: World) -> None:
    agent = await api.user(Role.AGENT)
    r = await api.http.patch(f"/api/v1/users/{agent.id}", json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert await _login(api, agent.email) == (
        401,
        {"error": {"code": "unauthorized", "message": "this user is deactivated"}},
    )
    assert (await agent.client.get("/api/v1/me")).status_code == 401


async def test_revoked_api_token_is_refused(api: World) -> None:
    r = await api.http.post("/api/v1/api_tokens", json={"name": "zapier"})
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["id"]
    assert token.startswith("kefu_") and r.json()["prefix"] == token[:11]
    c = api.client(token)
    assert (await c.get("/api/v1/me")).status_code == 200
    listed = (await api.http.get("/api/v1/api_tokens")).json()
    assert "token" not in listed[-1] and listed[-1]["name"] == "zapier"
    assert (await api.http.delete(f"/api/v1/api_tokens/{token_id}")).json()["revoked_at"] is not None
    r = await c.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "invalid or revoked API token"


async def test_agents_cannot_administer_and_nothing_changes(api: World) -> None:
    agent = await api.user(Role.AGENT)
    before = (await api.http.get("/api/v1/inboxes")).json()
    r = await agent.client.post("/api/v1/inboxes", json={"name": "sneaky"})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "your role (agent) may not manage inboxes"
    assert (await api.http.get("/api/v1/inboxes")).json() == before
    r = await agent.client.post("/api/v1/users", json={"email": "x@test.kefu", "name": "x", "password": "12345678"})
    assert r.status_code == 403
    r = await agent.client.patch(f"/api/v1/users/{agent.id}", json={"role": "admin"})
    assert r.status_code == 403
    assert (await api.http.get(f"/api/v1/users/{agent.id}")).json()["role"] == "agent"
    assert (await agent.client.get("/api/v1/api_tokens")).status_code == 403
    assert (await agent.client.get("/api/v1/events")).status_code == 403


async def test_supervisor_manages_teams_but_not_users(api: World) -> None:
    sup = await api.user(Role.SUPERVISOR)
    agent = await api.user(Role.AGENT)
    r = await sup.client.post("/api/v1/teams", json={"name": "售后", "member_ids": [agent.id]})
    assert r.status_code == 201
    assert r.json()["member_ids"] == [agent.id]
    assert (
        await sup.client.post("/api/v1/users", json={"email": "y@test.kefu", "name": "y", "password": "12345678"})
    ).status_code == 403
