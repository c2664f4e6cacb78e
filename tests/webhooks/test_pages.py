"""Admin → Webhooks over HTTP (both databases): create (the secret shown once), a refused form says why
and saves nothing, edit keeps the secret when its field is left empty, delete; agents get the 403 page."""

from __future__ import annotations

from sqlalchemy import select

from kefu.core.constants import Role
from kefu.webhooks.models import Webhook
from tests.support.factories import World
from tests.web.conftest import login


async def test_admin_pages_create_edit_and_delete_a_webhook(api: World) -> None:
    browser = await login(api, api.admin)
    await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": ["127.0.0.1:9"]})
    page = await browser.http.get("/admin/webhooks?lang=en")
    assert page.status_code == 200 and 'href="/admin/webhooks" aria-current="page"' in page.text

    bad = await browser.post_form("/admin/webhooks?lang=en", {"url": "http://127.0.0.1:10/x", "events": []})
    assert bad.status_code == 422 and "Please correct the form" in bad.text
    bad = await browser.post_form(
        "/admin/webhooks?lang=en", {"url": "http://127.0.0.1:10/x", "events": ["message.created"]}
    )
    assert bad.status_code == 422
    assert "127.0.0.1:10 is not on this account&#39;s list of outbound hosts" in bad.text
    assert (await api.http.get("/api/v1/webhooks")).json() == []

    form = {"url": "http://127.0.0.1:9/hook", "events": ["message.created", "contact.created"], "active": "on"}
    made = await browser.post_form("/admin/webhooks?lang=zh_CN", form)
    assert made.status_code == 201
    assert "Webhook 已保存。请立即复制签名密钥：它不会再次显示。" in made.text
    [hook] = (await api.http.get("/api/v1/webhooks")).json()
    async with api.server.state.sessionmaker() as session:
        stored = (await session.execute(select(Webhook.secret).where(Webhook.id == hook["id"]))).scalar_one()
    assert f'<code id="created-secret">{stored}</code>' in made.text
    detail = await browser.http.get(f"/admin/webhooks/{hook['id']}?lang=zh_CN")
    assert stored not in detail.text and "还没有投递。" in detail.text

    edit = {"url": "http://127.0.0.1:9/other", "events": ["conversation.created"], "secret": ""}
    saved = await browser.post_form(f"/admin/webhooks/{hook['id']}", edit)
    assert (saved.status_code, saved.headers["location"]) == (303, f"/admin/webhooks/{hook['id']}?saved=1")
    got = (await api.http.get(f"/api/v1/webhooks/{hook['id']}")).json()
    assert (got["url"], got["events"], got["active"]) == ("http://127.0.0.1:9/other", ["conversation.created"], False)
    async with api.server.state.sessionmaker() as session:
        assert (await session.execute(select(Webhook.secret).where(Webhook.id == hook["id"]))).scalar_one() == stored

    agent = await login(api, await api.user(Role.AGENT))
    assert (await agent.http.get("/admin/webhooks")).status_code == 403
    assert (await agent.post_form(f"/admin/webhooks/{hook['id']}/delete", {})).status_code == 403
    gone = await browser.post_form(f"/admin/webhooks/{hook['id']}/delete", {})
    assert (gone.status_code, gone.headers["location"]) == (303, "/admin/webhooks")
    assert (await api.http.get("/api/v1/webhooks")).json() == []
