"""The tickets listener on a live server (both databases; on PostgreSQL it runs in the `kefu worker`), with
the real bundled embedder: repeat contacts are linked only for similar text of the same contact within the
window; a customer's reply reopens a pending or solved ticket; the per-day rate counts both."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from kefu.conversations.inbound import receive_customer_message
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage, InboxRef
from kefu.core import clock
from kefu.tickets.models import Ticket
from tests.support.factories import Visitor, World

LISTENER = "tickets.customer_messages"


async def _overview(api: World) -> dict[str, Any]:
    r = await api.http.get("/api/v1/listeners")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _settle(api: World, *, timeout: float = 90) -> None:
    """Wait until the tickets listener has read every event of this account, and failed none."""
    deadline = time.monotonic() + timeout
    while True:
        overview = await _overview(api)
        mine = next(item for item in overview["listeners"] if item["name"] == LISTENER)
        letters = [d for d in overview["dead_letters"] if d["listener"] == LISTENER]
        assert letters == [], letters
        if mine["updated_at"] is not None and mine["lag"] == 0:
            return
        assert time.monotonic() < deadline, mine
        await asyncio.sleep(0.2)


async def _solved_ticket(api: World, text: str, subject: str, status: str = "solved") -> tuple[Visitor, dict[str, Any]]:
    """A visitor's conversation and a ticket made from it, moved to `status`."""
    await _settle(api)  # the listener has its cursor before this account's conversations start
    visitor, conv = await api.conversation(text)
    r = await api.http.post("/api/v1/tickets", json={"subject": subject, "conversation_id": conv["id"]})
    assert r.status_code == 201, r.text
    ticket = r.json()
    r = await api.http.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": status})
    assert r.status_code == 200, r.text
    return visitor, r.json()


async def _new_conversation(api: World, contact_id: int, text: str) -> int:
    """The same contact writes in another inbox (another channel): a new conversation — with continuity
    "linked" (docs/customers.md); the default would continue their conversation that is still open."""
    r = await api.http.put("/api/v1/account/continuity", json={"continuity": "linked"})
    assert r.status_code == 200, r.text
    inbox = await api.inbox()
    ref = InboxRef(id=inbox["id"], account_id=api.account_id, public_key=inbox["public_key"])
    data = ContactMessageCreate(content=text, client_message_id=None)
    received = await receive_customer_message(api.server.state, InboundMessage(ref, contact_id, data))
    await _settle(api)
    return received.conversation_id


async def _ticket(api: World, ticket_id: int) -> dict[str, Any]:
    return (await api.http.get(f"/api/v1/tickets/{ticket_id}")).json()  # type: ignore[no-any-return]


async def _today(api: World) -> dict[str, Any]:
    stats = (await api.http.get("/api/v1/tickets/stats/repeat_contacts", params={"days": 1})).json()
    return stats["days"][-1]  # type: ignore[no-any-return]


async def test_a_similar_first_message_links_the_conversation_to_the_solved_ticket(api: World) -> None:
    visitor, ticket = await _solved_ticket(api, "我的订单还没有发货，已经等了一周了", "订单一周未发货")
    conv_id = await _new_conversation(api, visitor.contact_id, "你好，上次说的订单到现在还没发货")
    after = await _ticket(api, ticket["id"])
    assert after["conversation_ids"] == sorted([ticket["conversation_ids"][0], conv_id])
    assert after["status"] == "open"  # the customer wrote again about it
    timeline = (await api.http.get(f"/api/v1/tickets/{ticket['id']}/timeline")).json()
    entries = [
        (e["kind"], e["actor_type"], {k: v for k, v in e["data"].items() if k != "similarity"}) for e in timeline
    ]
    assert entries == [
        (
            "created",
            "user",
            {"number": 1001, "source": "conversation", "conversation_id": ticket["conversation_ids"][0]},
        ),
        ("status", "user", {"from": "new", "to": "solved"}),
        ("linked", "system", {"conversation_id": conv_id, "reason": "repeat_contact"}),
        ("status", "contact", {"from": "solved", "to": "open", "reason": "customer_reply"}),
    ]
    assert timeline[2]["data"]["similarity"] >= 0.90
    notes = [m for m in (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json() if m["kind"] == "note"]
    assert [(n["sender_type"], n["meta"]["repeat_contact"]["number"]) for n in notes] == [("system", 1001)]
    assert notes[0]["content"] == "Repeat contact: linked to ticket #1001 (订单一周未发货)"
    today = await _today(api)
    assert (today["conversations"], today["repeat_contacts"], today["rate"]) == (2, 1, 0.5)


async def test_different_text_another_contact_or_an_old_ticket_do_not_link(api: World) -> None:
    visitor, ticket = await _solved_ticket(api, "退款还没收到，什么时候能到？", "申请退款后一直没有到账")
    first_conv = ticket["conversation_ids"][0]
    await _new_conversation(api, visitor.contact_id, "发票开错了，抬头写错了")  # another issue
    stranger = await api.visitor(await api.inbox(), name="Someone else")
    await stranger.say("退款还没收到，什么时候能到？")  # the same words, another customer
    await _settle(api)
    async with api.server.state.sessionmaker() as session:  # solved 8 days ago: outside the 7-day window
        row = await session.get(Ticket, ticket["id"])
        assert row is not None
        row.solved_at = clock.now() - timedelta(days=8)
        await session.commit()
    await _new_conversation(api, visitor.contact_id, "退款还没收到，什么时候能到？")
    after = await _ticket(api, ticket["id"])
    assert (after["conversation_ids"], after["status"]) == ([first_conv], "solved")
    today = await _today(api)
    assert (today["conversations"], today["repeat_contacts"], today["rate"]) == (4, 0, 0.0)
    # A longer window (an account setting) takes the same old ticket in.
    assert (await api.http.put("/api/v1/tickets/settings", json={"repeat_window_days": 14})).status_code == 200
    linked = await _new_conversation(api, visitor.contact_id, "退款还没收到，什么时候能到？")
    assert (await _ticket(api, ticket["id"]))["conversation_ids"] == [first_conv, linked]


async def test_a_customer_reply_reopens_pending_and_solved_tickets_only(api: World) -> None:
    visitor, pending = await _solved_ticket(api, "帮我查一下物流", "物流查询", status="pending")
    conv_id = pending["conversation_ids"][0]
    hold = await api.http.post("/api/v1/tickets", json={"subject": "等快递公司回复", "conversation_id": conv_id})
    await api.http.post(f"/api/v1/tickets/{hold.json()['id']}/status", json={"status": "on_hold"})
    await visitor.say("单号是 SF123456")
    await _settle(api)
    assert (await _ticket(api, pending["id"]))["status"] == "open"
    assert (await _ticket(api, hold.json()["id"]))["status"] == "on_hold"
    events = (await api.http.get("/api/v1/events", params={"type": "ticket.status_changed"})).json()
    reopened = [e for e in events if e["payload"]["id"] == pending["id"] and e["payload"]["status"] == "open"]
    assert [(e["actor"]["type"], e["payload"]["previous_status"], e["payload"]["reason"]) for e in reopened] == [
        ("contact", "pending", "customer_reply")
    ]


class _Down:
    """An embedder whose endpoint is down."""

    dim = 384

    def embed_queries(self, texts: list[str]) -> Any:
        raise ConnectionError("embedding endpoint down")

    embed_passages = embed_queries


async def test_an_embedder_that_fails_skips_the_check_instead_of_failing_the_listener(api: World) -> None:
    from kefu.conversations.models import Conversation, Message
    from kefu.tickets.repeat import find_repeat

    visitor, _ = await _solved_ticket(api, "我的订单还没有发货", "订单未发货")
    conv_id = await _new_conversation(api, visitor.contact_id, "订单还没发货")
    first_id = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()[0]["id"]
    async with api.server.state.sessionmaker() as session:  # SQLite: one pooled connection, no HTTP inside
        conv = await session.get(Conversation, conv_id)
        msg = await session.get(Message, first_id)
        assert conv is not None and msg is not None
        assert await find_repeat(session, conv, msg, _Down(), 7) is None
        await session.rollback()
