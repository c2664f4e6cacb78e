"""Mail into an email inbox through its callback URL (the same path IMAP and the SMTP receiver take):
stored once per Message-ID with its details in meta, attachments like the widget's, automated mail marked,
bad mail a precise 4xx with nothing stored. On SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.channels.configs import SECRET_MASK
from kefu.conversations.models import Message
from tests.channels.email.conftest import fixture
from tests.channels.email.helpers import conversations, email_inbox, mail, messages, post_mail
from tests.support.factories import World


async def _count(api: World) -> int:
    async with api.server.state.sessionmaker() as session:
        q = select(func.count()).select_from(Message).where(Message.account_id == api.account_id)
        return int((await session.execute(q)).scalar_one())


async def test_the_config_is_validated_and_passwords_are_never_read_back(api: World) -> None:
    r = await api.http.post(
        "/api/v1/inboxes", json={"name": "Mail", "channel_type": "email", "config": {"address": "Support <s@x.cn>"}}
    )
    assert (r.status_code, r.json()["error"]["message"]) == (
        422,
        "config.address: Value error, must be a plain email address such as support@example.com",
    )
    r = await api.http.post(
        "/api/v1/inboxes",
        json={"name": "Mail", "channel_type": "email", "config": {"address": "s@x.cn", "imap_host": "127.0.0.1"}},
    )
    assert (r.status_code, r.json()["error"]["message"]) == (
        422,
        "config: Value error, imap_username and imap_password are required with imap_host",
    )
    inbox = await email_inbox(
        api, address="Support@Shop.Example", smtp_host="127.0.0.1", smtp_password="pw1", imap_host="127.0.0.1",
        imap_port=9, imap_username="s", imap_password="pw2",
    )  # fmt: skip
    got = (await api.http.get(f"/api/v1/inboxes/{inbox['id']}")).json()
    assert got["config"] == {
        "address": "support@shop.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": None,
        "smtp_username": None,
        "smtp_password": SECRET_MASK,
        "smtp_tls": "starttls",
        "imap_host": "127.0.0.1",
        "imap_port": 9,
        "imap_username": "s",
        "imap_password": SECRET_MASK,
        "imap_tls": True,
    }
    assert got["callback_url"].endswith(f"/channels/{inbox['public_key']}")


async def test_a_mail_is_stored_once_with_its_details(api: World) -> None:
    inbox = await email_inbox(api)
    for _ in range(2):  # a re-fetch or a retry of the same Message-ID
        r = await post_mail(api, inbox, fixture("plain.eml"))
        assert (r.status_code, r.json()) == (200, {"received": 1})
    [conv] = await conversations(api, inbox)
    [msg] = await messages(api, conv["id"])
    assert (msg["content"], msg["client_message_id"], msg["sender_type"]) == (
        "Hello,\n\nmy order 20261207001 has not arrived yet. Can you check?\n\nLi Wei",
        "plain-1@mail.example.com",
        "contact",
    )
    assert msg["meta"] == {
        "channel": "email",
        "subject": "Where is my order?",
        "message_id": "<plain-1@mail.example.com>",
        "in_reply_to": None,
        "references": [],
        "from": "li.wei@example.com",
        "from_name": "Li Wei",
        "to": ["support@shop.example"],
        "text": "Hello,\n\nmy order 20261207001 has not arrived yet. Can you check?\n\nLi Wei",
        "html": "",
    }
    contact = (await api.http.get(f"/api/v1/contacts/{conv['contact']['id']}")).json()
    assert (contact["name"], contact["email"]) == ("Li Wei", "li.wei@example.com")


async def test_chinese_mail_html_mail_and_quoted_replies(api: World) -> None:
    inbox = await email_inbox(api)
    for name in ("gbk_chinese.eml", "html_only.eml", "reply_zh_outlook.eml"):
        assert (await post_mail(api, inbox, fixture(name))).status_code == 200
    got = {}
    for conv in await conversations(api, inbox):
        for m in await messages(api, conv["id"]):
            got[m["meta"]["subject"]] = (m["content"], m["meta"]["from_name"])
    assert got == {
        "关于订单的问题（朱镕基路店）": ("你好，\n\n我的订单还没有收到，啰嗦一句：请尽快处理。", "王芳"),
        "回复: 订单": ("请问什么时候发货？", "王芳"),
        "Refund request": ("I would like a refund for order 42.\n\nclick my order", "Chen Jing"),
    }
    [html_conv] = [c for c in await conversations(api, inbox) if c["contact"]["name"] == "Chen Jing"]
    [html_msg] = await messages(api, html_conv["id"])
    assert "<script" not in html_msg["meta"]["html"] and "onerror" not in html_msg["meta"]["html"]


async def test_attachments_are_stored_like_uploads_and_refused_ones_noted(api: World) -> None:
    inbox = await email_inbox(api)
    assert (await post_mail(api, inbox, fixture("multipart_attachment.eml"))).status_code == 200
    [conv] = await conversations(api, inbox)
    [msg] = await messages(api, conv["id"])
    assert [(a["name"], a["content_type"], a["size"]) for a in msg["attachments"]] == [("damage.png", "image/png", 67)]
    download = await api.client().get(msg["attachments"][0]["url"])
    assert (download.status_code, download.content[:8]) == (200, b"\x89PNG\r\n\x1a\n")
    assert msg["meta"]["skipped_attachments"] == [
        {
            "name": "setup.exe",
            "reason": "files of type application/x-msdownload are not accepted; "
            "allowed types: image/png, image/jpeg, image/gif, image/webp, application/pdf, text/plain",
        }
    ]
    assert (await post_mail(api, inbox, fixture("multipart_attachment.eml"))).status_code == 200
    async with api.server.state.sessionmaker() as session:
        from kefu.attachments.models import Attachment

        q = select(func.count()).select_from(Attachment).where(Attachment.account_id == api.account_id)
        assert (await session.execute(q)).scalar_one() == 1  # a re-fetch stores no second copy


async def test_machine_sent_mail_is_stored_and_marked_automated(api: World) -> None:
    inbox = await email_inbox(api)
    assert (await post_mail(api, inbox, fixture("autoreply.eml"))).status_code == 200
    own = mail(message_id="<own-1@shop.example>", sender="Support <support@shop.example>")
    assert (await post_mail(api, inbox, own)).status_code == 200
    got = {}
    for conv in await conversations(api, inbox):
        for m in await messages(api, conv["id"]):
            got[m["client_message_id"]] = (m["meta"].get("automated"), m["meta"].get("automated_reasons"))
    assert got == {
        "auto-1@mail.example.com": (True, ["auto-submitted: auto-replied", "precedence: bulk", "x-autoreply"]),
        "own-1@shop.example": (True, ["sent from the inbox's own address"]),
    }


async def test_bad_mail_is_a_precise_4xx_and_stores_nothing(api: World) -> None:
    inbox = await email_inbox(api)
    widget = await api.inbox()
    before = await _count(api)
    cases = [
        (inbox, b"", 400, "the mail is empty"),
        (inbox, b"\x00\xff\xfe garbage", 400, "not an RFC 5322 mail: no header section"),
        (inbox, b"Subject: hi\r\n\r\nbody", 422, "the mail names no sender address (From)"),
        (inbox, b"From: <>\r\nSubject: hi\r\n\r\nbody", 422, "the mail names no sender address (From)"),
        (widget, fixture("plain.eml"), 404, None),
    ]
    for target, raw, status, message in cases:
        r = await post_mail(api, target, raw)
        assert r.status_code == status, (raw, r.text)
        if message:
            assert r.json()["error"]["message"] == message
    assert (await api.client().post("/channels/no-such-inbox", content=fixture("plain.eml"))).status_code == 404
    too_big = fixture("plain.eml") + b"x" * (3 * 1024 * 1024)
    assert (await post_mail(api, inbox, too_big)).status_code == 413
    assert await _count(api) == before
    async with api.server.state.sessionmaker() as session:
        from kefu.contacts.models import ContactIdentity

        q = select(func.count()).select_from(ContactIdentity).where(ContactIdentity.account_id == api.account_id)
        assert (await session.execute(q)).scalar_one() == 0  # no contact for refused mail
