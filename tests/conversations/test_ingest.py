"""Group commit of customers' messages (kefu.conversations.ingest): a batch stores each message exactly
once with its event, answers retries with the stored message, and hands everything else (new
conversation, reopen, duplicates inside a batch) to the one-message path with the same result."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from kefu.conversations.ingest import MessageIngest, Received
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage, InboxRef
from kefu.core.errors import NotFound
from kefu.core.eventlog import Event
from tests.support.factories import Visitor, World, recv_json, uniq


async def _ref(api: World, visitor: Visitor) -> InboxRef:
    r = await api.http.get("/api/v1/inboxes")
    inbox = next(i for i in r.json() if i["public_key"] == visitor.inbox_key)
    return InboxRef(inbox["id"], api.account_id, visitor.inbox_key)


def _ingest(api: World) -> MessageIngest:
    state = api.server.state
    return MessageIngest(state.engine, state.sessionmaker, state.bus)


async def _count(api: World, model: Any, *where: Any) -> int:
    async with api.server.state.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


def _msg(text: str, cmid: str | None) -> ContactMessageCreate:
    return ContactMessageCreate(content=text, client_message_id=cmid)


async def _receive(
    ingest: MessageIngest, ref: InboxRef, contact_id: int, data: ContactMessageCreate, *, max_chars: int
) -> Received:
    (got,) = await ingest.receive_many([InboundMessage(ref, contact_id, data)], max_chars=max_chars)
    return got


ROUTING_EVENTS = {"conversation.queued", "conversation.priority_changed"}


async def _messages(ws: Any, n: int) -> list[dict[str, Any]]:
    """The next `n` frames other than the routing listener's, which it writes in the background as the
    customers' first messages queue their conversations."""
    frames: list[dict[str, Any]] = []
    while len(frames) < n:
        frame = await recv_json(ws)
        if frame["type"] not in ROUTING_EVENTS:
            frames.append(frame)
    return frames


async def test_a_batch_stores_every_message_once_with_its_event_in_one_transaction(api: World) -> None:
    pairs = [await api.conversation(f"first {i}") for i in range(3)]
    refs = [await _ref(api, v) for v, _ in pairs]
    ingest = _ingest(api)
    async with api.agent_ws() as ws:
        assert (await recv_json(ws))["type"] == "hello"
        jobs = [
            _receive(
                ingest, ref, v.contact_id, _msg(f"m{k} from {v.contact_id}", f"b-{v.contact_id}-{k}"), max_chars=100
            )
            for k in range(4)
            for (v, _), ref in zip(pairs, refs, strict=True)
        ]
        got: list[Received] = await asyncio.gather(*jobs)
        frames = await _messages(ws, 12)
    await ingest.stop()

    assert (ingest.batches, ingest.fast, ingest.slow) == (1, 12, 0)
    assert all(r.created for r in got)
    for r, (v, conv) in zip(got, [p for _ in range(4) for p in pairs], strict=True):
        assert r.conversation_id == conv["id"]
        assert r.message.sender_id == v.contact_id and r.message.direction == "incoming"
    assert [f["type"] for f in frames] == ["message.created"] * 12
    assert [f["payload"] for f in frames] == [r.message.model_dump(mode="json") for r in got]
    assert len({f["id"] for f in frames}) == 12
    for i, (v, conv) in enumerate(pairs):
        history = [m["content"] for m in (await v.messages())["messages"]]
        assert history == [f"first {i}"] + [f"m{k} from {v.contact_id}" for k in range(4)]
        assert await _count(api, Event, Event.conversation_id == conv["id"], Event.type == "message.created") == 5
        r = await api.http.get(f"/api/v1/conversations/{conv['id']}")
        assert r.json()["last_activity_at"] == got[-1].message.created_at.isoformat().replace("+00:00", "Z")


async def test_retries_new_conversations_reopens_and_in_batch_duplicates_fall_to_the_one_message_path(
    api: World,
) -> None:
    (open_v, open_conv) = await api.conversation("still open")
    (done_v, done_conv) = await api.conversation("will be resolved")
    r = await api.http.post(f"/api/v1/conversations/{done_conv['id']}/status", json={"status": "resolved"})
    assert r.status_code == 200, r.text
    stored = await open_v.say("stored before", client_message_id="kept-1")
    inbox = await api.inbox()
    new_v = await api.visitor(inbox)
    open_ref, done_ref, new_ref = await _ref(api, open_v), await _ref(api, done_v), await _ref(api, new_v)
    ingest = _ingest(api)
    got = await asyncio.gather(
        _receive(ingest, open_ref, open_v.contact_id, _msg("stored before", "kept-1"), max_chars=100),
        _receive(ingest, open_ref, open_v.contact_id, _msg("twice", "twice-1"), max_chars=100),
        _receive(ingest, open_ref, open_v.contact_id, _msg("twice", "twice-1"), max_chars=100),
        _receive(ingest, done_ref, done_v.contact_id, _msg("I am back", "back-1"), max_chars=100),
        _receive(ingest, new_ref, new_v.contact_id, _msg("first words", None), max_chars=100),
    )
    await ingest.stop()

    retry, twice_a, twice_b, back, first = got
    assert (ingest.batches, ingest.fast, ingest.slow) == (1, 1, 3)
    assert not retry.created and retry.message.id == stored["id"]
    assert twice_a.created and not twice_b.created and twice_a.message.id == twice_b.message.id
    assert back.created and back.conversation_id == done_conv["id"]
    r = await api.http.get(f"/api/v1/conversations/{done_conv['id']}")
    assert r.json()["status"] == "open"
    assert first.created and first.conversation_id not in (open_conv["id"], done_conv["id"])
    assert first.message.client_message_id is None
    assert [m["content"] for m in (await open_v.messages())["messages"]] == ["still open", "stored before", "twice"]
    assert await _count(api, Message, Message.client_message_id == "twice-1") == 1
    assert await _count(api, Conversation, Conversation.contact_id == new_v.contact_id) == 1


async def test_a_deleted_inbox_is_not_found_and_nothing_is_stored(api: World) -> None:
    visitor, conv = await api.conversation()
    ref = await _ref(api, visitor)
    ingest = _ingest(api)
    gone = InboxRef(ref.id + 10_000_000, ref.account_id, "no-such-key")
    try:
        await _receive(ingest, gone, visitor.contact_id, _msg("hello?", uniq("c-")), max_chars=100)
    except NotFound as exc:
        assert str(exc) == "inbox no-such-key not found"
    else:
        raise AssertionError("expected NotFound")
    await ingest.stop()
    assert await _count(api, Message, Message.conversation_id == conv["id"]) == 1


async def test_widget_post_errors_are_precise_and_store_nothing(api: World) -> None:
    visitor, conv = await api.conversation()
    url = f"/api/v1/widget/{visitor.inbox_key}/messages"
    r = await visitor.client.post("/api/v1/widget/nope/messages", json={"content": "x"}, headers=visitor.headers)
    assert (r.status_code, r.json()["error"]["message"]) == (404, "inbox nope not found")
    r = await visitor.client.post(url, json={"content": "x"}, headers={"X-Contact-Token": "forged"})
    assert r.status_code == 401
    r = await visitor.client.post(url, json={"content": "长" * 10_001}, headers=visitor.headers)
    assert (r.status_code, r.json()["error"]["message"]) == (413, "message is 10,001 characters; the limit is 10,000")
    r = await visitor.client.post(url, json={"content": "   "}, headers=visitor.headers)
    assert (r.status_code, r.json()["error"]["details"][0]["field"]) == (422, "content")
    assert r.json()["error"]["message"] == (
        "content: Value error, must contain visible text (not only spaces, control or zero-width characters)"
    )
    r = await visitor.client.post(
        url, content=b'{"content": "x",', headers={**visitor.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "invalid_json", "message": "request body is not valid JSON"}
    r = await visitor.client.post(url, json={"content": "x", "bogus": 1}, headers=visitor.headers)
    assert r.status_code == 422
    assert [(d["field"], d["type"]) for d in r.json()["error"]["details"]] == [("bogus", "extra_forbidden")]
    r = await visitor.client.post(url, json={"client_message_id": "c1"}, headers=visitor.headers)
    assert r.status_code == 422
    assert [(d["field"], d["type"]) for d in r.json()["error"]["details"]] == [("content", "missing")]
    r = await visitor.client.post(url, json=["content"], headers=visitor.headers)
    assert r.status_code == 422
    assert await _count(api, Message, Message.conversation_id == conv["id"]) == 1


async def test_two_nodes_storing_the_same_message_at_once_store_it_once(api: World) -> None:
    visitor, conv = await api.conversation()
    ref = await _ref(api, visitor)
    node_a, node_b = _ingest(api), _ingest(api)
    for round_ in range(5):
        cmid = f"both-{round_}"
        a, b = await asyncio.gather(
            _receive(node_a, ref, visitor.contact_id, _msg(f"hi {round_}", cmid), max_chars=100),
            _receive(node_b, ref, visitor.contact_id, _msg(f"hi {round_}", cmid), max_chars=100),
        )
        assert sorted([a.created, b.created]) == [False, True]
        assert a.message == b.message
        assert await _count(api, Message, Message.client_message_id == cmid) == 1
        assert (
            await _count(api, Event, Event.type == "message.created", Event.payload["id"].as_integer() == a.message.id)
            == 1
        )
    await node_a.stop()
    await node_b.stop()
    assert await _count(api, Message, Message.conversation_id == conv["id"]) == 6


async def test_a_stuck_database_answers_503_and_the_retry_finds_the_message_stored_once(api: World) -> None:
    from sqlalchemy import update

    from kefu.core.errors import Unavailable

    visitor, conv = await api.conversation()
    ref = await _ref(api, visitor)
    state = api.server.state
    ingest = MessageIngest(state.engine, state.sessionmaker, state.bus, wait_s=0.5)
    async with state.sessionmaker() as blocker:  # holds the conversation's row (and SQLite's one connection)
        await blocker.execute(update(Conversation).where(Conversation.id == conv["id"]).values(subject="busy"))
        try:
            await _receive(ingest, ref, visitor.contact_id, _msg("are you there?", "stuck-1"), max_chars=100)
        except Unavailable as exc:
            assert (exc.status_code, exc.retry_after) == (503, 5)
            assert str(exc).startswith("the message could not be stored within 0.5 s; send it again")
        else:
            raise AssertionError("expected Unavailable")
        await blocker.commit()
    retry = await _receive(ingest, ref, visitor.contact_id, _msg("are you there?", "stuck-1"), max_chars=100)
    await ingest.stop()
    assert not retry.created  # the first attempt was committed once the row was free
    assert await _count(api, Message, Message.client_message_id == "stuck-1") == 1
