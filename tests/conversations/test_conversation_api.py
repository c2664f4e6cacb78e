"""Assign, label, note, resolve, reopen, snooze — and the list filters and cursor pagination."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from kefu.core.constants import EventType, Role
from tests.support.factories import World

ROUTING_EVENTS = {EventType.CONVERSATION_QUEUED, EventType.CONVERSATION_PRIORITY_CHANGED}


async def test_assign_label_note_resolve_and_customer_reopens(api: World) -> None:
    agent = await api.user(Role.AGENT, name="小王")
    visitor, conv = await api.conversation("我要退款")
    cid = conv["id"]
    assert conv["status"] == "open" and conv["assignee_id"] is None and conv["contact"]["name"] == "Visitor"

    r = await api.http.post(f"/api/v1/conversations/{cid}/assignment", json={"assignee_id": agent.id})
    assert r.status_code == 200 and r.json()["assignee_id"] == agent.id
    r = await agent.client.put(f"/api/v1/conversations/{cid}/labels", json={"labels": ["退款", "vip"]})
    assert r.json() == ["vip", "退款"]
    r = await agent.client.delete(f"/api/v1/conversations/{cid}/labels/vip")
    assert r.json() == ["退款"]
    r = await agent.client.delete(f"/api/v1/conversations/{cid}/labels/nope")
    assert r.status_code == 404

    r = await agent.client.post(
        f"/api/v1/conversations/{cid}/messages", json={"content": "客户情绪激动", "kind": "note"}
    )
    assert r.status_code == 201 and r.json()["kind"] == "note"
    r = await agent.client.post(f"/api/v1/conversations/{cid}/messages", json={"content": "已为您办理退款"})
    assert r.json()["kind"] == "text" and r.json()["direction"] == "outgoing"

    # The customer never sees the note.
    assert [m["content"] for m in (await visitor.messages())["messages"]] == ["我要退款", "已为您办理退款"]

    r = await agent.client.post(f"/api/v1/conversations/{cid}/resolve")
    assert r.json()["status"] == "resolved" and r.json()["resolved_at"] is not None
    await visitor.say("还有一个问题")
    conv = (await api.http.get(f"/api/v1/conversations/{cid}")).json()
    assert conv["status"] == "open" and conv["resolved_at"] is None
    assert conv["first_response_at"] is not None and conv["labels"] == ["退款"]
    events = (await api.http.get("/api/v1/events", params={"conversation_id": cid})).json()
    # what the conversations service wrote (kefu.routing's listener adds conversation.queued in the background)
    types = [e["type"] for e in events if e["type"] not in ROUTING_EVENTS]
    assert types == [
        "conversation.created",
        "message.created",
        "conversation.assigned",
        "conversation.labels_changed",
        "conversation.labels_changed",
        "message.created",
        "message.created",
        "conversation.status_changed",
        "conversation.status_changed",
        "message.created",
    ]


async def test_agent_reply_to_unassigned_conversation_assigns_it(api: World) -> None:
    agent = await api.user(Role.AGENT)
    _, conv = await api.conversation()
    await agent.client.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "note", "kind": "note"})
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()["assignee_id"] is None
    await agent.client.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "hello"})
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()["assignee_id"] == agent.id


async def test_status_rules(api: World) -> None:
    _, conv = await api.conversation()
    path = f"/api/v1/conversations/{conv['id']}/status"
    r = await api.http.post(path, json={"status": "snoozed"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "snoozed_until is required to snooze a conversation"
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = await api.http.post(path, json={"status": "snoozed", "snoozed_until": past})
    assert r.status_code == 400 and r.json()["error"]["message"] == "snoozed_until must be in the future"
    r = await api.http.post(path, json={"status": "pending", "snoozed_until": past})
    assert r.status_code == 400
    r = await api.http.post(path, json={"status": "pending"})
    assert r.json()["status"] == "pending"


async def test_snooze_wakes_up_by_background_job(api: World) -> None:
    _, conv = await api.conversation()
    until = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    r = await api.http.post(
        f"/api/v1/conversations/{conv['id']}/status", json={"status": "snoozed", "snoozed_until": until}
    )
    assert r.json()["status"] == "snoozed"
    for _ in range(100):
        await asyncio.sleep(0.1)
        now = (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()
        if now["status"] == "open":
            break
    assert now["status"] == "open" and now["snoozed_until"] is None
    events = (
        await api.http.get(
            "/api/v1/events", params={"conversation_id": conv["id"], "type": "conversation.status_changed"}
        )
    ).json()
    assert [(e["payload"]["previous_status"], e["payload"]["status"], e["actor"]["type"]) for e in events] == [
        ("open", "snoozed", "user"),
        ("snoozed", "open", "system"),
    ]


async def test_list_filters(api: World) -> None:
    agent = await api.user(Role.AGENT)
    team = (await api.http.post("/api/v1/teams", json={"name": "T"})).json()
    inbox2 = await api.inbox(team_id=team["id"])
    _, c1 = await api.conversation("one")
    v2 = await api.visitor(inbox2)
    c2 = (await v2.say("two"))["conversation_id"]
    _, c3 = await api.conversation("three")
    await api.http.post(f"/api/v1/conversations/{c1['id']}/assignment", json={"assignee_id": agent.id})
    await api.http.post(f"/api/v1/conversations/{c3['id']}/resolve")
    await api.http.post(f"/api/v1/conversations/{c3['id']}/labels", json={"label": "bug"})

    async def ids(client=api.http, **params) -> list[int]:  # type: ignore[no-untyped-def]
        r = await client.get("/api/v1/conversations", params=params)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await ids(status="all") == [c3["id"], c2, c1["id"]]
    assert await ids(status="open") == [c2, c1["id"]]
    assert await ids(status="resolved") == [c3["id"]]
    assert await ids(agent.client, assignee="me", status="all") == [c1["id"]]
    assert await ids(assignee="unassigned", status="open") == [c2]
    assert await ids(assignee=str(agent.id), status="all") == [c1["id"]]
    assert await ids(team_id=team["id"], status="all") == [c2]
    assert await ids(inbox_id=inbox2["id"], status="all") == [c2]
    assert await ids(label="bug", status="all") == [c3["id"]]


async def test_cursor_pagination_walks_every_conversation_once(api: World) -> None:
    inbox = await api.inbox()
    made = []
    for i in range(7):
        v = await api.visitor(inbox, name=f"v{i}")
        made.append((await v.say(f"m{i}"))["conversation_id"])
    seen, cursor = [], None
    while True:
        params = {"status": "all", "limit": 3, "inbox_id": inbox["id"]}
        if cursor:
            params["cursor"] = cursor
        page = (await api.http.get("/api/v1/conversations", params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))


async def test_unknown_assignee_filters_are_a_422(api: World) -> None:
    """The list names what it accepts instead of failing inside: words it does not know, and ids no user can
    have (0, past the 64-bit id range) are refused with the field named."""
    for value in ("mine", "ME", "-1", "1.5"):
        r = await api.http.get("/api/v1/conversations", params={"assignee": value})
        assert r.status_code == 422, (value, r.text)
        assert r.json()["error"]["details"][0]["field"] == "query.assignee", value
    expected = "must be one of me, unassigned, all or a user id"
    for value in ("0", str(2**63), "99999999999999999999999999"):
        r = await api.http.get("/api/v1/conversations", params={"assignee": value})
        assert r.status_code == 422, (value, r.text)
        assert r.json()["error"] == {
            "code": "validation_error",
            "message": f"assignee: {expected}",
            "details": [{"field": "assignee", "message": expected, "type": "value_error"}],
        }
    r = await api.http.get("/api/v1/conversations", params={"assignee": str(2**63 - 1)})
    assert (r.status_code, r.json()["items"]) == (200, [])


async def test_the_service_refuses_an_unknown_assignee(api: World) -> None:
    """Callers other than the API (the workspace pages) get the same refusal, not a ValueError."""
    from kefu.conversations.service import list_conversations
    from kefu.core.errors import Unprocessable

    filters = {"status": None, "team_id": None, "label": None, "inbox_id": None, "contact_id": None}
    async with api.server.state.sessionmaker() as session:
        for value in ("mine", "x1", "١٢", "0"):
            with pytest.raises(Unprocessable) as caught:
                await list_conversations(
                    session, api.account_id, assignee=value, me_id=api.admin.id, cursor=None, limit=5, **filters
                )
            assert caught.value.message == "assignee: must be one of me, unassigned, all or a user id", value
