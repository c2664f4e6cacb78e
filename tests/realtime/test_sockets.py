"""WebSockets: live events, what the widget may see, resume after a reconnect without loss or duplicates."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from kefu.core.constants import Role
from tests.support.factories import World, recv_json, recv_until


async def _drain(ws, seconds: float = 0.3) -> list[dict]:  # type: ignore[no-untyped-def]
    out = []
    try:
        while True:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
    except TimeoutError:
        return out


async def test_agent_resumes_after_reconnect_without_loss_or_duplicates(api: World) -> None:
    visitor, conv = await api.conversation("first")
    async with api.agent_ws() as ws:
        hello = await recv_json(ws)
        last_seen = hello["last_event_id"]
    # While the agent is away: three customer messages and a note.
    sent = [await visitor.say(f"while away {i}") for i in range(3)]
    await api.http.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "n", "kind": "note"})
    async with api.agent_ws(last_event_id=last_seen) as ws:
        assert (await recv_json(ws))["type"] == "hello"
        live = await visitor.say("after reconnect")
        frames = [f for f in await _drain(ws, 1.0) if f["type"] == "message.created"]
    ids = [f["payload"]["id"] for f in frames]
    assert ids == [m["id"] for m in sent] + [ids[3], live["id"]]
    assert frames[3]["payload"]["kind"] == "note"
    assert len(set(f["id"] for f in frames)) == len(frames)
    assert [f["id"] for f in frames] == sorted(f["id"] for f in frames)


async def test_widget_sees_replies_and_status_but_never_notes(api: World) -> None:
    visitor, conv = await api.conversation("hi")
    async with visitor.ws() as ws:
        await recv_json(ws)
        cid = conv["id"]
        await api.http.post(f"/api/v1/conversations/{cid}/messages", json={"content": "secret", "kind": "note"})
        await api.http.post(f"/api/v1/conversations/{cid}/messages", json={"content": "public reply"})
        await api.http.post(f"/api/v1/conversations/{cid}/labels", json={"label": "internal"})
        await api.http.post(f"/api/v1/conversations/{cid}/resolve")
        frames = await _drain(ws, 1.0)
    assert [(f["type"], f["payload"].get("content") or f["payload"].get("status")) for f in frames] == [
        ("message.created", "public reply"),
        ("conversation.status_changed", "resolved"),
    ]


async def test_widget_resume_replays_only_its_visible_events(api: World) -> None:
    visitor, conv = await api.conversation("hi")
    async with visitor.ws() as ws:
        last = (await recv_json(ws))["last_event_id"]
    cid = conv["id"]
    await api.http.post(f"/api/v1/conversations/{cid}/messages", json={"content": "note", "kind": "note"})
    await api.http.post(f"/api/v1/conversations/{cid}/messages", json={"content": "reply 1"})
    await api.conversation("someone else")
    await api.http.post(f"/api/v1/conversations/{cid}/messages", json={"content": "reply 2"})
    async with visitor.ws(last_event_id=last) as ws:
        await recv_json(ws)
        frames = await _drain(ws, 0.8)
    assert [f["payload"]["content"] for f in frames] == ["reply 1", "reply 2"]


async def test_typing_reaches_the_other_side(api: World) -> None:
    agent = await api.user(Role.AGENT, name="小李")
    visitor, conv = await api.conversation("hi")
    async with visitor.ws() as wws, api.agent_ws(agent.token) as aws:
        await recv_json(wws)
        await recv_json(aws)
        await aws.send(json.dumps({"type": "typing", "conversation_id": conv["id"], "typing": True}))
        got = await recv_until(wws, "typing")
        assert got["payload"] == {"typing": True, "name": "小李"} and got["id"] is None
        r = await visitor.client.post(
            f"/api/v1/widget/{visitor.inbox_key}/typing", json={"typing": True}, headers=visitor.headers
        )
        assert r.status_code == 204
        got = await recv_until(aws, "typing")
        assert got["actor"] == {"type": "contact", "id": visitor.contact_id}
        await aws.send(json.dumps({"type": "ping"}))
        assert await recv_until(aws, "pong")


async def test_sockets_refuse_bad_credentials(api: World) -> None:
    url = f"{api.server.ws_url}/ws/agent?token=kefu_wrong"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(url):
            pass
    inbox = await api.inbox()
    url = f"{api.server.ws_url}/ws/widget?inbox={inbox['public_key']}&token=forged"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(url):
            pass


async def test_an_event_committed_after_a_newer_one_still_arrives_live(api: World) -> None:
    """PostgreSQL draws ids before commit: an event can commit after one with a higher id. A socket that
    said hello in between must still get it live (on SQLite writes are serial, so this cannot happen)."""
    from kefu.core.constants import ActorType, EventType
    from kefu.core.events import Actor, bind_bus, commit, emit

    if api.server.backend != "postgres":
        pytest.skip("out-of-order commits need concurrent writers (PostgreSQL)")
    visitor, conv = await api.conversation("hi")
    state = api.server.state
    async with state.sessionmaker() as slow:
        bind_bus(slow, state.bus)
        late = emit(
            slow,
            api.account_id,
            EventType.CONVERSATION_LABELS_CHANGED,  # a payload that fits its type (core/event_types.py)
            {"id": conv["id"], "labels": ["late"], "previous": []},
            actor=Actor(ActorType.SYSTEM),
            conversation_id=conv["id"],
        )
        await slow.flush()  # the id is drawn now; the commit comes later
        newer = await visitor.say("committed first")
        async with api.agent_ws() as ws:
            hello = await recv_json(ws)
            assert late.id < hello["last_event_id"]
            await commit(slow)
            frames = await _drain(ws, 1.0)
    payload = {"id": conv["id"], "labels": ["late"], "previous": []}
    # the routing listener queues the conversation in the background: its events may come too
    ours = [
        (f["id"], f["payload"])
        for f in frames
        if f["type"] not in ("conversation.queued", "conversation.priority_changed")
    ]
    assert ours == [(late.id, payload)]
    assert newer["id"] > 0
