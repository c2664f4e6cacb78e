"""Typed event payloads (core/event_types.py): a model per event type, checked at emit; message.created
rows reference the message (no text) while sockets, replay and GET /api/v1/events still carry it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from kefu.core.constants import ActorType, EventType
from kefu.core.event_types import EVENT_MODELS, KNOWLEDGE_EVENTS, MessageCreated, stored_payload
from kefu.core.eventlog import Event
from kefu.core.events import Actor, emit
from kefu.knowledge.events import KnowledgeEvent
from tests.support.factories import World, recv_until

SLIM_KEYS = {
    "id",
    "conversation_id",
    "direction",
    "kind",
    "sender_type",
    "sender_id",
    "client_message_id",
    "created_at",
}


def test_every_event_type_has_a_payload_model() -> None:
    assert set(KNOWLEDGE_EVENTS) == {str(e) for e in KnowledgeEvent}
    assert set(EVENT_MODELS) == {str(e) for e in EventType} | set(KNOWLEDGE_EVENTS)


def test_a_message_payload_is_stored_without_its_text() -> None:
    full = {
        "id": 7, "conversation_id": 3, "direction": "incoming", "kind": "text", "sender_type": "contact",
        "sender_id": 5, "content": "我的手机号是 13800000000", "attachments": [{"name": "id.jpg"}],
        "client_message_id": "c-1", "meta": {}, "created_at": "2026-12-07T08:00:00Z",
    }  # fmt: skip
    slim = stored_payload(EventType.MESSAGE_CREATED, full)
    assert slim == {k: full[k] for k in SLIM_KEYS}
    assert MessageCreated.model_validate(slim).id == 7
    handoff = {"reason": "explicit_request", "summary": {"reason": "explicit_request", "contact_tier": "normal"}}
    assert stored_payload(EventType.BOT_HANDED_OFF, handoff) is handoff  # the bot's structured summary
    other = {"id": 1, "labels": ["vip"], "previous": []}
    assert stored_payload(EventType.CONVERSATION_LABELS_CHANGED, other) is other


def test_emit_refuses_a_payload_that_does_not_fit_its_type() -> None:
    class Session:
        def __init__(self) -> None:
            self.info: dict[str, object] = {}

        def add(self, _: object) -> None:
            raise AssertionError("nothing may be added")

    with pytest.raises(ValidationError):
        emit(Session(), 1, EventType.CONVERSATION_ASSIGNED, {"id": 1}, actor=Actor(ActorType.SYSTEM))  # type: ignore[arg-type]


async def test_message_events_reference_the_message_and_readers_join_it_back(api: World) -> None:
    visitor, conv = await api.conversation("第一条消息 secret-text-1")
    async with api.agent_ws() as ws:
        await recv_until(ws, "hello")
        await visitor.say("第二条消息 secret-text-2")
        live = await recv_until(ws, "message.created")
    assert live["payload"]["content"] == "第二条消息 secret-text-2"  # the socket shows what it showed before

    async with api.server.state.sessionmaker() as session:
        q = select(Event).where(Event.conversation_id == conv["id"], Event.type == EventType.MESSAGE_CREATED)
        rows = list((await session.execute(q.order_by(Event.id))).scalars())
    assert len(rows) == 2
    for row in rows:
        assert set(row.payload) == SLIM_KEYS  # no content, no attachments in the log
    assert "secret-text" not in repr([r.payload for r in rows])

    r = await api.http.get("/api/v1/events", params={"conversation_id": conv["id"], "type": "message.created"})
    assert r.status_code == 200
    assert [e["payload"]["content"] for e in r.json()] == ["第一条消息 secret-text-1", "第二条消息 secret-text-2"]
    assert [e["id"] for e in r.json()] == [row.id for row in rows]

    async with api.agent_ws(last_event_id=rows[0].id - 1) as ws:  # replay after a reconnect
        await recv_until(ws, "hello")
        replayed = await recv_until(ws, "message.created")
    assert replayed["payload"]["content"] == "第一条消息 secret-text-1"
    assert replayed["id"] == rows[0].id
