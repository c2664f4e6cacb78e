"""Replies by mail through a real SMTP server on loopback (aiosmtpd): the exact headers that thread them
in the customer's client, the customer's answer threaded back, failures the agent sees, and no automatic
answer to a machine's mail. On SQLite (in-process jobs) and PostgreSQL (the `kefu worker` process)."""

from __future__ import annotations

import asyncio
from email.utils import parseaddr

from kefu.channels.email.threads import our_message_id
from kefu.conversations.service import do_post_bot_message, get_conversation
from kefu.core.events import bind_bus
from tests.channels.email.conftest import SmtpPeer, fixture
from tests.channels.email.helpers import conversations, email_inbox, mail, messages, post_mail, settled
from tests.support.factories import World


async def _reply(api: World, conv_id: int, text: str) -> dict[str, object]:
    r = await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": text})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_round_trip_threads_in_both_directions(api: World, smtp_peer: SmtpPeer) -> None:
    inbox = await email_inbox(api, smtp_port=smtp_peer.port)
    assert (await post_mail(api, inbox, fixture("plain.eml"))).status_code == 200
    [conv] = await conversations(api, inbox)

    sent = await _reply(api, conv["id"], "您好，您的订单已发货。")
    assert sent["delivery_status"] == "pending"
    got = await settled(api, conv["id"], int(sent["id"]))  # type: ignore[call-overload]
    assert (got["delivery_status"], got["delivery_error"]) == ("sent", None)
    [(mail_from, rcpt_tos, out)] = await smtp_peer.wait(1)
    ours = our_message_id(api.server.settings.secret_key, int(sent["id"]), "shop.example")  # type: ignore[call-overload]
    assert (mail_from, rcpt_tos) == ("support@shop.example", ["li.wei@example.com"])
    assert parseaddr(out["From"]) == (inbox["name"], "support@shop.example")
    assert (out["To"], out["Subject"], out["Message-ID"], out["In-Reply-To"], out["References"]) == (
        "li.wei@example.com",
        "Re: Where is my order?",
        ours,
        "<plain-1@mail.example.com>",
        "<plain-1@mail.example.com>",
    )
    assert out["Auto-Submitted"] is None
    assert out.get_payload(decode=True).decode(out.get_content_charset()).strip() == "您好，您的订单已发货。"

    await api.http.post(f"/api/v1/conversations/{conv['id']}/status", json={"status": "resolved"})
    answer = mail(
        message_id="<answer-1@mail.example.com>",
        subject="Re: Where is my order?",
        body="Thank you!\r\n\r\nOn Mon, Dec 7, 2026 Support wrote:\r\n> 您好，您的订单已发货。",
        headers={"In-Reply-To": ours, "References": f"<plain-1@mail.example.com> {ours}"},
    )
    assert (await post_mail(api, inbox, answer)).status_code == 200
    [again] = await conversations(api, inbox)
    assert (again["id"], again["status"]) == (conv["id"], "open")  # the same conversation, reopened
    last = (await messages(api, conv["id"]))[-1]
    assert (last["content"], last["meta"]["in_reply_to"]) == ("Thank you!", ours)

    second = await _reply(api, conv["id"], "不客气。")
    await settled(api, conv["id"], int(second["id"]))  # type: ignore[call-overload]
    out2 = (await smtp_peer.wait(2))[1][2]
    assert (out2["In-Reply-To"], " ".join(out2["References"].split())) == (
        "<answer-1@mail.example.com>",
        f"<plain-1@mail.example.com> {ours} <answer-1@mail.example.com>",
    )


async def test_a_reply_naming_another_customers_thread_or_a_forged_id_is_not_threaded(
    api: World, smtp_peer: SmtpPeer
) -> None:
    inbox = await email_inbox(api, smtp_port=smtp_peer.port)
    assert (await post_mail(api, inbox, fixture("plain.eml"))).status_code == 200
    [conv] = await conversations(api, inbox)
    sent = await _reply(api, conv["id"], "Shipped.")
    ours = our_message_id(api.server.settings.secret_key, int(sent["id"]), "shop.example")  # type: ignore[call-overload]
    forged = ours.replace(".", "x", 1)
    intruder = mail(
        message_id="<intruder-1@evil.example>", sender="Mallory <m@evil.example>", headers={"In-Reply-To": ours}
    )
    assert (await post_mail(api, inbox, intruder)).status_code == 200
    convs = {c["contact"]["name"]: c["id"] for c in await conversations(api, inbox)}
    assert set(convs) == {"Li Wei", "Mallory"} and convs["Mallory"] != conv["id"]
    assert [m["content"] for m in await messages(api, conv["id"])] == [
        "Hello,\n\nmy order 20261207001 has not arrived yet. Can you check?\n\nLi Wei",
        "Shipped.",
    ]
    # a new conversation of its own, not the open one (continuity "same_conversation" would put it there)
    r = await api.http.put("/api/v1/account/continuity", json={"continuity": "linked"})
    assert r.status_code == 200, r.text
    other = await email_inbox(api, address="sales@shop.example")
    forged_mail = mail(message_id="<f-1@mail.example.com>", to="sales@shop.example", headers={"In-Reply-To": forged})
    assert (await post_mail(api, other, forged_mail)).status_code == 200
    [new] = await conversations(api, other)
    assert (new["id"] != conv["id"], new["linked_conversation_id"]) == (True, conv["id"])


async def test_smtp_refusals_fail_or_retry_with_the_servers_reason(api: World, smtp_peer: SmtpPeer) -> None:
    inbox = await email_inbox(api, smtp_port=smtp_peer.port)
    assert (await post_mail(api, inbox, fixture("plain.eml"))).status_code == 200
    [conv] = await conversations(api, inbox)
    smtp_peer.answer = "550 5.1.1 mailbox unavailable"
    rejected = await settled(api, conv["id"], int((await _reply(api, conv["id"], "one"))["id"]))  # type: ignore[call-overload]
    assert (rejected["delivery_status"], rejected["delivery_error"]) == (
        "failed",
        "the mail server answered 550 5.1.1 mailbox unavailable",
    )
    smtp_peer.answer = "451 4.3.0 try again later"
    later = await settled(api, conv["id"], int((await _reply(api, conv["id"], "two"))["id"]))  # type: ignore[call-overload]
    assert (later["delivery_status"], later["delivery_error"]) == (
        "pending",
        "the mail server answered 451 4.3.0 try again later",
    )
    assert smtp_peer.received == []


async def test_no_automatic_answer_to_a_machines_mail(api: World, smtp_peer: SmtpPeer) -> None:
    inbox = await email_inbox(api, smtp_port=smtp_peer.port)
    assert (await post_mail(api, inbox, fixture("autoreply.eml"))).status_code == 200
    [conv] = await conversations(api, inbox)
    state = api.server.state
    async with state.sessionmaker() as session:
        bind_bus(session, state.bus)
        c = await get_conversation(session, api.account_id, conv["id"])
        bot = await do_post_bot_message(session, c, "自动回答", jobs=state.jobs)
    got = await settled(api, conv["id"], bot.id)
    assert (got["delivery_status"], got["delivery_error"]) == (
        "failed",
        "not sent: the customer's last mail was sent by a machine (an auto-reply, a bounce or a list); "
        "only an agent may answer it",
    )
    agent = await settled(api, conv["id"], int((await _reply(api, conv["id"], "An agent answers."))["id"]))  # type: ignore[call-overload]
    assert agent["delivery_status"] == "sent"
    [(_, _, out)] = await smtp_peer.wait(1)
    assert out["Subject"] == "Re: Automatic reply: Where is my order?"

    assert (await post_mail(api, inbox, fixture("reply_en.eml"))).status_code == 200  # a person writes again
    async with state.sessionmaker() as session:
        bind_bus(session, state.bus)
        c = await get_conversation(session, api.account_id, conv["id"])
        bot = await do_post_bot_message(session, c, "机器人回答", jobs=state.jobs)
    assert (await settled(api, conv["id"], bot.id))["delivery_status"] == "sent"
    out = (await smtp_peer.wait(2))[1][2]
    assert out["Auto-Submitted"] == "auto-replied"


async def test_a_reply_with_an_attachment(api: World, smtp_peer: SmtpPeer) -> None:
    inbox = await email_inbox(api, smtp_port=smtp_peer.port)
    assert (await post_mail(api, inbox, fixture("plain.eml"))).status_code == 200
    [conv] = await conversations(api, inbox)
    up = await api.http.post("/api/v1/attachments", files={"file": ("label.txt", b"tracking: SF123", "text/plain")})
    assert up.status_code == 201, up.text
    r = await api.http.post(
        f"/api/v1/conversations/{conv['id']}/messages", json={"content": "See the label.", "attachments": [up.json()]}
    )
    assert r.status_code == 201, r.text
    assert (await settled(api, conv["id"], r.json()["id"]))["delivery_status"] == "sent"
    [(_, _, out)] = await smtp_peer.wait(1)
    parts = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in out.walk()]
    assert ("label.txt", "text/plain", b"tracking: SF123") in parts


async def test_the_bot_answers_a_persons_mail_by_mail_and_never_an_auto_reply(api: World, smtp_peer: SmtpPeer) -> None:
    inbox = await email_inbox(api, smtp_port=smtp_peer.port)
    r = await api.http.patch(f"/api/v1/inboxes/{inbox['id']}", json={"bot_enabled": True})
    assert (r.status_code, r.json()["bot_enabled"]) == (200, True)
    assert (await post_mail(api, inbox, fixture("plain.eml"))).status_code == 200
    [(_, rcpt_tos, answer)] = await smtp_peer.wait(1)
    assert (rcpt_tos, answer["Auto-Submitted"], answer["In-Reply-To"]) == (
        ["li.wei@example.com"],
        "auto-replied",
        "<plain-1@mail.example.com>",
    )
    [conv] = await conversations(api, inbox)
    before = [m["id"] for m in await messages(api, conv["id"])]
    assert (await post_mail(api, inbox, fixture("autoreply.eml"))).status_code == 200
    await asyncio.sleep(1.0)  # the bot answers a person within milliseconds; a machine never
    after = await messages(api, conv["id"])
    assert [(m["sender_type"], m["meta"].get("automated")) for m in after if m["id"] not in before] == [
        ("contact", True)
    ]
    assert len(smtp_peer.received) == 1
