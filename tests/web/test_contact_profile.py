"""The 360° profile page (/app/contacts/{id}) over HTTP in three languages: one timeline across channels
with channel badges, identities added and removed, merge (search, then merge) and split from the merge
history; the link from the conversation's sidebar; the reply box's channel select; the admin continuity
control. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from kefu.channels.models import Inbox
from kefu.conversations.inbound import receive_customer_message
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage, InboxRef
from kefu.core.constants import Role
from tests.support.factories import World, uniq
from tests.web.conftest import login


async def _two_channels(api: World) -> tuple[Any, int, dict[str, Any], dict[str, Any]]:
    """A visitor who wrote on the widget, then by email (an inbox shown as an email channel)."""
    widget = await api.inbox(name=uniq("官网 "))
    visitor = await api.visitor(widget, "赵敏")
    conv_id = (await visitor.say("网页咨询：发票怎么开"))["conversation_id"]
    mail = await api.inbox(name=uniq("邮箱 "))
    state = api.server.state
    async with state.sessionmaker() as session:
        await session.execute(update(Inbox).where(Inbox.id == mail["id"]).values(channel_type="email", config={}))
        await session.commit()
    ref = InboxRef(mail["id"], api.account_id, mail["public_key"])
    data = ContactMessageCreate(content="邮件补充：公司抬头是某某科技", client_message_id=uniq("mid-"))
    got = await receive_customer_message(state, InboundMessage(ref, visitor.contact_id, data))
    assert got.conversation_id == conv_id
    return visitor, conv_id, widget, mail


async def test_profile_shows_every_channel_in_one_timeline_in_three_languages(api: World) -> None:
    visitor, conv_id, widget, mail = await _two_channels(api)
    agent = await api.user(Role.AGENT)
    browser = await login(api, agent)
    side = await browser.http.get(f"/app?c={conv_id}")
    assert f'<a href="/app/contacts/{visitor.contact_id}" class="profile-link" id="contact-profile-link">' in side.text
    for lang, timeline, badge in (
        ("zh_CN", "时间线", "网站聊天"),
        ("zh_TW", "時間軸", "網站聊天"),
        ("en", "Timeline", "Website chat"),
    ):
        r = await browser.http.get(f"/app/contacts/{visitor.contact_id}?lang={lang}")
        assert r.status_code == 200
        assert f"<h2>{timeline}</h2>" in r.text
        body = r.text.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
        assert body.index("网页咨询：发票怎么开") < body.index("邮件补充：公司抬头是某某科技")
        assert f'class="badge channel channel-web_widget" data-inbox-id="{widget["id"]}"' in body
        assert f'class="badge channel channel-email" data-inbox-id="{mail["id"]}"' in body
        assert f"{badge} · {widget['name']}" in body
    r = await browser.http.get(f"/app/contacts/{2**40}")
    assert r.status_code == 404


async def test_identities_merge_and_split_from_the_profile(api: World) -> None:
    inbox = await api.inbox()
    a, b = await api.visitor(inbox, "甲客户"), await api.visitor(inbox, uniq("乙客户"))
    await a.say("第一次来")
    conv_b = (await b.say("乙的问题"))["conversation_id"]
    browser = await login(api, api.admin)
    page_url = f"/app/contacts/{a.contact_id}"

    r = await browser.post_form(f"{page_url}/identities", {"kind": "phone", "value": "123"})
    assert r.status_code == 422
    assert "is not a valid phone number" in r.text
    r = await browser.post_form(f"{page_url}/identities", {"kind": "phone", "value": "13500135000"})
    assert (r.status_code, r.headers["location"]) == (303, f"{page_url}?done=identity")
    r = await browser.http.get(page_url)
    assert "<code>+8613500135000</code>" in r.text

    found = await browser.http.get(page_url, params={"q": b.contact_id and "乙客户"})
    candidates = found.text.split('id="merge-candidates"', 1)[1].split("</ul>", 1)[0]
    assert f'data-contact-id="{b.contact_id}"' in candidates and f'data-contact-id="{a.contact_id}"' not in candidates
    r = await browser.post_form(f"{page_url}/merge", {"other_id": b.contact_id})
    assert (r.status_code, r.headers["location"]) == (303, f"{page_url}?done=merged")
    r = await browser.http.get(f"{page_url}?done=merged&lang=en")
    assert 'id="contact-done">The contacts were merged.</p>' in r.text
    assert "乙的问题" in r.text.split('id="timeline"', 1)[1]
    merge = (await api.http.get(f"/api/v1/contacts/{a.contact_id}/merges")).json()[0]
    assert f'data-merge-id="{merge["id"]}"' in r.text
    old = await browser.http.get(f"/app/contacts/{b.contact_id}", follow_redirects=False)
    assert (old.status_code, old.headers["location"]) == (303, page_url)

    r = await browser.post_form(f"{page_url}/split", {"merge_id": merge["id"]})
    assert (r.status_code, r.headers["location"]) == (303, f"{page_url}?done=split")
    r = await browser.http.get(page_url)
    assert "乙的问题" not in r.text.split('id="timeline"', 1)[1]
    assert (await api.http.get(f"/api/v1/conversations/{conv_b}")).json()["contact_id"] == b.contact_id
    r = await browser.post_form(f"{page_url}/split", {"merge_id": merge["id"]})
    assert r.status_code == 409

    ident = next(
        i for i in (await api.http.get(f"/api/v1/contacts/{a.contact_id}/identities")).json() if i["kind"] == "phone"
    )
    r = await browser.post_form(f"{page_url}/identities/{ident['id']}/remove", {})
    assert r.status_code == 303
    assert "+8613500135000" not in (await browser.http.get(page_url)).text


async def test_reply_box_offers_the_channels_and_defaults_to_the_last_used(api: World) -> None:
    _, conv_id, widget, mail = await _two_channels(api)
    browser = await login(api, api.admin)
    r = await browser.http.get(f"/app?c={conv_id}&lang=zh_CN")
    select = r.text.split('id="reply-channel"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{mail["id"]}" selected>邮箱 · {mail["name"]}</option>' in select
    assert f'<option value="{widget["id"]}">网站聊天 · {widget["name"]}</option>' in select
    r = await browser.post_form(f"/app/c/{conv_id}/messages", {"content": "网页上回复", "inbox_id": widget["id"]})
    assert r.status_code == 201
    msgs = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert (msgs[-1]["content"], msgs[-1]["inbox_id"]) == ("网页上回复", widget["id"])


async def test_admins_set_continuity_in_the_admin_ui(api: World) -> None:
    browser = await login(api, api.admin)
    r = await browser.http.get("/admin/continuity?lang=zh_TW")
    assert r.status_code == 200 and "跨渠道會話保持" in r.text
    assert 'value="same_conversation" checked' in r.text
    r = await browser.post_form("/admin/continuity", {"continuity": "linked"})
    assert (r.status_code, r.headers["location"]) == (303, "/admin/continuity?saved=1")
    assert (await api.http.get("/api/v1/account/continuity")).json() == {"continuity": "linked"}
    r = await browser.post_form("/admin/continuity", {"continuity": "never"})
    assert r.status_code == 422
    agent = await login(api, await api.user(Role.AGENT))
    assert (await agent.http.get("/admin/continuity")).status_code == 403
