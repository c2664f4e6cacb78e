"""Admin pages: only for their roles (403 page otherwise), and each form changes what the API returns."""

from __future__ import annotations

import pytest

from kefu.core.constants import Role
from tests.support.factories import PASSWORD, World, uniq
from tests.web.conftest import Browser, login

ADMIN_PAGES = ["/admin/inboxes", "/admin/agents", "/admin/teams", "/admin/tokens"]


@pytest.mark.parametrize("url", [*ADMIN_PAGES, "/admin"])
async def test_agents_get_the_403_page(api: World, url: str) -> None:
    agent = await api.user(Role.AGENT)
    browser = await login(api, agent, cookies={"kefu_locale": "en"})
    r = await browser.http.get(url)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>You do not have permission to see this page</h1>" in r.text


async def test_supervisors_manage_teams_but_not_agents(api: World) -> None:
    sup = await api.user(Role.SUPERVISOR)
    browser = await login(api, sup)
    assert (await browser.http.get("/admin/teams")).status_code == 200
    assert (await browser.http.get("/admin/agents")).status_code == 403
    r = await browser.post_form("/admin/agents", {"email": "x@test.kefu", "name": "X", "password": "longenough1"})
    assert r.status_code == 403
    assert "x@test.kefu" not in [u["email"] for u in (await api.http.get("/api/v1/users")).json()]


async def test_create_inbox_shows_the_embed_snippet(api: World, admin_browser: Browser) -> None:
    r = await admin_browser.post_form(
        "/admin/inboxes", {"name": "官网 <Web>", "greeting": "您好", "bot_enabled": "true"}
    )
    assert r.status_code == 303
    inboxes = (await api.http.get("/api/v1/inboxes")).json()
    assert [(i["name"], i["greeting"], i["bot_enabled"]) for i in inboxes] == [("官网 <Web>", "您好", True)]
    assert r.headers["location"] == f"/admin/inboxes/{inboxes[0]['id']}"
    page = await admin_browser.http.get(r.headers["location"])
    embed = (await api.http.get(f"/api/v1/inboxes/{inboxes[0]['id']}/embed")).json()
    assert embed["snippet"].replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;") in page.text
    assert "官网 &lt;Web&gt;" in page.text
    listing = await admin_browser.http.get("/admin/inboxes")
    assert "官网 &lt;Web&gt;" in listing.text


async def test_invalid_inbox_form_is_shown_again(api: World, admin_browser: Browser) -> None:
    r = await admin_browser.post_form("/admin/inboxes", {"name": "   "})
    assert r.status_code == 422
    assert 'id="form-error"' in r.text
    assert (await api.http.get("/api/v1/inboxes")).json() == []


async def test_agents_create_change_role_deactivate_activate(api: World, admin_browser: Browser) -> None:
    email = f"{uniq('new')}@test.kefu"
    r = await admin_browser.post_form(
        "/admin/agents", {"email": email, "name": "新同事", "password": PASSWORD, "role": "agent", "locale": "zh_TW"}
    )
    assert (r.status_code, r.headers["location"]) == (303, "/admin/agents")
    users = {u["email"]: u for u in (await api.http.get("/api/v1/users")).json()}
    new = users[email]
    assert (new["name"], new["role"], new["locale"], new["is_active"]) == ("新同事", "agent", "zh_TW", True)

    await admin_browser.post_form(f"/admin/agents/{new['id']}", {"role": "supervisor"})
    assert (await api.http.get(f"/api/v1/users/{new['id']}")).json()["role"] == "supervisor"
    await admin_browser.post_form(f"/admin/agents/{new['id']}", {"active": "0"})
    assert (await api.http.get(f"/api/v1/users/{new['id']}")).json()["is_active"] is False
    await admin_browser.post_form(f"/admin/agents/{new['id']}", {"active": "1"})
    assert (await api.http.get(f"/api/v1/users/{new['id']}")).json()["is_active"] is True

    dup = await admin_browser.post_form("/admin/agents", {"email": email, "name": "Dup", "password": PASSWORD})
    assert dup.status_code == 409
    assert f"a user with email {email} already exists" in dup.text
    assert len((await api.http.get("/api/v1/users")).json()) == 2


async def test_admin_cannot_deactivate_themself(api: World, admin_browser: Browser) -> None:
    r = await admin_browser.post_form(f"/admin/agents/{api.admin.id}", {"active": "0"})
    assert r.status_code == 400
    assert (await api.http.get(f"/api/v1/users/{api.admin.id}")).json()["is_active"] is True


async def test_teams_create_and_members(api: World, admin_browser: Browser) -> None:
    a = await api.user(Role.AGENT, name="甲")
    b = await api.user(Role.AGENT, name="乙")
    r = await admin_browser.post_form("/admin/teams", {"name": "售后", "description": "退款", "member_ids": [a.id]})
    assert r.status_code == 303
    teams = (await api.http.get("/api/v1/teams")).json()
    assert [(t["name"], t["description"], t["member_ids"]) for t in teams] == [("售后", "退款", [a.id])]
    r = await admin_browser.post_form(f"/admin/teams/{teams[0]['id']}/members", {"member_ids": [a.id, b.id]})
    assert r.status_code == 303
    assert (await api.http.get(f"/api/v1/teams/{teams[0]['id']}")).json()["member_ids"] == sorted([a.id, b.id])
    r = await admin_browser.post_form(f"/admin/teams/{teams[0]['id']}/members", {})
    assert (await api.http.get(f"/api/v1/teams/{teams[0]['id']}")).json()["member_ids"] == []
    dup = await admin_browser.post_form("/admin/teams", {"name": "售后"})
    assert dup.status_code == 409
    assert len((await api.http.get("/api/v1/teams")).json()) == 1


async def test_api_token_shown_once_then_revoked(api: World, admin_browser: Browser) -> None:
    r = await admin_browser.post_form("/admin/tokens", {"name": "crm-sync"})
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
    start = r.text.index('id="new-token" class="code" readonly value="') + len(
        'id="new-token" class="code" readonly value="'
    )
    token = r.text[start : r.text.index('"', start)]
    tokens = [t for t in (await api.http.get("/api/v1/api_tokens")).json() if t["name"] == "crm-sync"]
    assert len(tokens) == 1 and token.startswith(tokens[0]["prefix"])
    me = await api.client(token).get("/api/v1/me")
    assert me.status_code == 200 and me.json()["id"] == api.admin.id
    listing = await admin_browser.http.get("/admin/tokens")
    assert token not in listing.text

    r = await admin_browser.post_form(f"/admin/tokens/{tokens[0]['id']}/revoke", {})
    assert r.status_code == 303
    assert (await api.client(token).get("/api/v1/me")).status_code == 401


async def test_form_post_without_csrf_token_is_rejected_and_changes_nothing(api: World, admin_browser: Browser) -> None:
    before = (await api.http.get("/api/v1/users")).json()
    r = await admin_browser.post_form(
        "/admin/agents", {"email": "csrf@test.kefu", "name": "CSRF", "password": PASSWORD}, csrf=False
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    r = await admin_browser.http.post(
        "/admin/inboxes", data={"name": "x", "csrf_token": "forged"}, headers={"X-Requested-With": "x"}
    )
    assert r.status_code == 403
    _, conv = await api.conversation("hi")
    r = await admin_browser.http.post(f"/app/c/{conv['id']}/status", data={"status": "resolved"})
    assert r.status_code == 403
    assert (await api.http.get("/api/v1/users")).json() == before
    assert "x" not in [i["name"] for i in (await api.http.get("/api/v1/inboxes")).json()]
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()["status"] == "open"
