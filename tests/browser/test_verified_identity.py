"""A customer who emailed first, then writes on the site's widget signed in with the same (verified) email:
the widget's visitor becomes that customer, the message joins the open email conversation, the agent sees
both channels in one timeline and the reply goes out on the widget, where the customer reads it."""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from kefu.channels.models import Inbox
from kefu.channels.widget.identity import sign_identity
from kefu.contacts.service import do_contact_for_identity
from kefu.conversations.inbound import receive_customer_message
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage, InboxRef
from kefu.core.constants import IdentityKind
from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_replies, agent_session, customer_opens_widget, customer_says
from tests.browser.test_admin_inbox_embed import plain_site
from tests.support.factories import World, uniq

pytestmark = pytest.mark.browser


def _site(base: str, key: str, user_id: str, email: str, hash_: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Shop</title></head><body><h1>Shop</h1>"
        f'<script src="{base}/widget.js" data-inbox="{key}" data-locale="zh_CN" data-user-id="{user_id}" '
        f'data-email="{email}" data-identifier-hash="{hash_}" async></script></body></html>'
    )


async def test_email_then_verified_widget_is_one_timeline(api: World, new_context: NewContext) -> None:
    state = api.server.state
    email = f"{uniq('chen')}@example.com"
    mail = await api.inbox(name=uniq("客服邮箱 "))
    async with state.sessionmaker() as session:
        await session.execute(update(Inbox).where(Inbox.id == mail["id"]).values(channel_type="email", config={}))
        await session.commit()
    async with state.sessionmaker() as session:
        contact, _ = await do_contact_for_identity(session, api.account_id, IdentityKind.EMAIL, email, name="陈先生")
    ref = InboxRef(mail["id"], api.account_id, mail["public_key"])
    first = ContactMessageCreate(content="邮件：订单 B77 的发票还没收到", client_message_id=uniq("<mid-"))
    conv_id = (await receive_customer_message(state, InboundMessage(ref, contact.id, first))).conversation_id

    widget = await api.inbox(name=uniq("官网 "))
    secret = (await api.http.get(f"/api/v1/inboxes/{widget['id']}/identity_secret")).json()["secret"]
    hash_ = sign_identity(secret, "u-88", email, None)
    with plain_site(_site(api.server.base_url, widget["public_key"], "u-88", email, hash_)) as url:
        _, frame = await customer_opens_widget(await new_context("zh-CN"), url)
        await customer_says(frame, "网页上继续问：发票什么时候开")
        deadline = time.monotonic() + 30
        while True:
            msgs = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
            if len(msgs) >= 2:
                break
            assert time.monotonic() < deadline, msgs
            await asyncio.sleep(0.2)
        assert [(m["content"], m["inbox_id"]) for m in msgs[:2]] == [
            ("邮件：订单 B77 的发票还没收到", mail["id"]),
            ("网页上继续问：发票什么时候开", widget["id"]),
        ]

        page = await agent_session(await new_context(), api, api.admin, "zh_CN")
        await page.goto(f"{api.server.base_url}/app?c={conv_id}&lang=zh_CN")
        messages = page.locator("#messages")
        await expect(messages.locator(".msg-incoming .badge.channel-email")).to_have_count(1)
        await expect(messages.locator(".msg-incoming .badge.channel-web_widget")).to_have_count(1)
        await expect(page.locator("#reply-channel option:checked")).to_contain_text("网站聊天")
        await agent_replies(page, "您好，发票今天开出")
        await expect(frame.locator(".w-msg .w-bubble", has_text="您好，发票今天开出")).to_have_count(1)
        await screenshot(page, "verified-identity-one-timeline")
    merged = (await api.http.get(f"/api/v1/contacts/{contact.id}/merges")).json()
    assert [m["reason"] for m in merged] == ["verified"]
