"""Login sessions end: after the idle and absolute lifetimes, on a password change (except the session
it was changed from) and on deactivation, which also revokes the user's API tokens — for good."""

from __future__ import annotations

from datetime import timedelta

import httpx

from kefu.auth.deps import SESSION_COOKIE
from kefu.core import clock
from kefu.core.constants import Role
from tests.support.factories import PASSWORD, World


async def _browser(api: World, email: str, password: str = PASSWORD) -> tuple[httpx.AsyncClient, str]:
    c = api.client()
    r = await c.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


async def test_sessions_end_when_idle_or_too_old(api: World) -> None:
    agent = await api.user(Role.AGENT)
    c, _ = await _browser(api, agent.email)
    s = api.server.settings
    assert (s.session_idle_s, s.session_max_age_s) == (24 * 3600, 14 * 24 * 3600)
    start = clock.now()
    for day in range(1, 14):  # used every day: stays alive up to the absolute end
        clock.freeze(start + timedelta(days=day, minutes=-1))
        assert (await c.get("/api/v1/me")).status_code == 200, day
    clock.freeze(start + timedelta(days=14, minutes=1))
    assert (await c.get("/api/v1/me")).status_code == 401
    clock.freeze(None)
    idle, _ = await _browser(api, agent.email)
    clock.freeze(clock.now() + timedelta(hours=24, minutes=2))
    r = await idle.get("/api/v1/me")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")


async def test_a_password_change_ends_the_other_sessions(api: World) -> None:
    admin_user = await api.user(Role.ADMIN)
    mine, csrf = await _browser(api, admin_user.email)
    elsewhere, _ = await _browser(api, admin_user.email)
    r = await mine.patch(
        f"/api/v1/users/{admin_user.id}", json={"password": "a new long password"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 200, r.text
    assert (await mine.get("/api/v1/me")).status_code == 200  # the session it was changed from
    assert (await elsewhere.get("/api/v1/me")).status_code == 401
    assert (await admin_user.client.get("/api/v1/me")).status_code == 200  # API tokens are not sessions
    # An admin resetting someone else's password ends all of that user's sessions.
    agent = await api.user(Role.AGENT)
    agent_browser, _ = await _browser(api, agent.email)
    assert (await api.http.patch(f"/api/v1/users/{agent.id}", json={"password": "reset by admin"})).status_code == 200
    assert (await agent_browser.get("/api/v1/me")).status_code == 401
    assert (await _browser(api, agent.email, "reset by admin"))[0] is not None


async def test_deactivation_ends_sessions_and_tokens_and_reactivation_does_not_revive_them(api: World) -> None:
    agent = await api.user(Role.AGENT)
    browser, _ = await _browser(api, agent.email)
    cookie = browser.cookies[SESSION_COOKIE]
    assert (await api.http.patch(f"/api/v1/users/{agent.id}", json={"is_active": False})).status_code == 200
    assert (await api.http.patch(f"/api/v1/users/{agent.id}", json={"is_active": True})).status_code == 200
    again = api.client()
    again.cookies.set(SESSION_COOKIE, cookie)
    assert (await again.get("/api/v1/me")).status_code == 401
    r = await agent.client.get("/api/v1/me")
    assert (r.status_code, r.json()["error"]["message"]) == (401, "invalid or revoked API token")
    tokens = [t for t in (await api.http.get("/api/v1/api_tokens")).json() if t["user_id"] == agent.id]
    assert [t["revoked_at"] is not None for t in tokens] == [True]
    revoked = (await api.http.get("/api/v1/events", params={"type": "api_token.revoked"})).json()
    assert [e["payload"]["id"] for e in revoked] == [tokens[0]["id"]]
    assert (await _browser(api, agent.email))[0] is not None  # the user logs in afresh
