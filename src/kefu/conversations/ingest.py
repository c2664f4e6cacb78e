"""Group commit for customers' messages — the hot path of every channel.

A customer's message normally continues an open conversation. `MessageIngest.receive` queues it; one
writer task per process takes everything queued so far and stores the whole batch in one transaction
with a handful of set-based statements, whatever the batch size:

1. find messages already stored under the same client_message_id (retries) — answered from the database;
2. ``UPDATE conversations … WHERE id IN (latest conversation of each (inbox, contact)) AND status = 'open'
   RETURNING …`` — bumps the activity times and row-locks the conversations, so a concurrent resolve
   or another node's insert into the same conversation waits for this commit;
3. ``INSERT INTO messages … RETURNING id`` for all rows, then the ``message.created`` events likewise;
4. commit, then publish the events on the bus in one round trip (never before the commit).

Everything this path does not handle — no conversation yet, a conversation that is not open (it must
be reopened with its own event), two messages with the same client_message_id in one batch, a unique
violation from a concurrent duplicate — goes through `check_receive_contact_message`, the one-message
path with the same rules, in its own session. The result is identical either way: one stored message,
one event, a retry answered with the stored message (created=False).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kefu.channels.models import Inbox
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ContactMessageCreate, MessageRead
from kefu.conversations.service import check_receive_contact_message
from kefu.core import clock
from kefu.core.bus import EventBus
from kefu.core.constants import ActorType, ConversationStatus, Direction, EventType, MessageKind
from kefu.core.errors import NotFound
from kefu.core.eventlog import Event
from kefu.core.events import bind_bus, event_message, publish_events

log = logging.getLogger("kefu.ingest")
EXTRAS_KEY = "conversations.ingest"
MAX_BATCH = 200


@dataclass(frozen=True)
class InboxRef:
    """What never changes about an inbox: enough to check a widget token and store a message."""

    id: int
    account_id: int
    public_key: str


@dataclass(frozen=True)
class Received:
    conversation_id: int
    message: MessageRead
    created: bool  # False when a retry was answered with the message stored the first time


@dataclass
class _Item:
    inbox: InboxRef
    contact_id: int
    data: ContactMessageCreate
    max_chars: int
    future: asyncio.Future[Received] = field(repr=False)


class MessageIngest:
    def __init__(
        self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], bus: EventBus | None
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.bus = bus
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._slow: set[asyncio.Task[None]] = set()
        self.batches = 0  # counters for tests and the benchmark
        self.fast = 0
        self.slow = 0

    async def receive(
        self, inbox: InboxRef, contact_id: int, data: ContactMessageCreate, *, max_chars: int
    ) -> Received:
        """Store a customer's message (exactly once per client_message_id) and publish its events."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run())
        future: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(inbox, contact_id, data, max_chars, future))
        return await asyncio.shield(future)  # a client that disconnects does not cancel the write

    async def stop(self) -> None:
        """Finish what is queued and in flight (shutdown)."""
        if self._writer is not None and not self._writer.done():
            self._queue.put_nowait(None)
            await self._writer
        if self._slow:
            await asyncio.gather(*self._slow, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    await self._process(batch)
                    return
                batch.append(nxt)
            await self._process(batch)

    async def _process(self, batch: list[_Item]) -> None:
        self.batches += 1
        try:
            rest = await self._write(batch)
        except Exception:  # e.g. a concurrent duplicate: every item goes through the one-message path
            log.debug("batch of %d fell back to one-by-one", len(batch), exc_info=True)
            rest = [i for i in batch if not i.future.done()]
        for item in rest:
            task = asyncio.create_task(self._one(item))
            self._slow.add(task)
            task.add_done_callback(self._slow.discard)

    async def _one(self, item: _Item) -> None:
        """The one-message path (new conversation, reopen, duplicates within a batch, races)."""
        self.slow += 1
        try:
            async with self.sessionmaker() as session:
                bind_bus(session, self.bus)
                inbox = await session.get(Inbox, item.inbox.id)
                if inbox is None:
                    raise NotFound("inbox", item.inbox.public_key)
                conv, posted = await check_receive_contact_message(
                    session, inbox, item.contact_id, item.data, max_chars=item.max_chars
                )
                result = Received(conv.id, MessageRead.model_validate(posted.message), posted.created)
        except BaseException as exc:
            if not item.future.done():
                item.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if not item.future.done():
            item.future.set_result(result)

    async def _write(self, batch: list[_Item]) -> list[_Item]:
        """Store what the set-based path can; return the items left for the one-message path."""
        rest: list[_Item] = []
        seen: set[tuple[int, int, str]] = set()
        items: list[_Item] = []
        for item in batch:
            cmid = item.data.client_message_id
            if cmid is not None:
                key = (item.inbox.id, item.contact_id, cmid)
                if key in seen:
                    rest.append(item)  # the same message twice in one batch: the second waits for the first
                    continue
                seen.add(key)
            items.append(item)
        if not items:
            return rest
        now = clock.now()
        events: list[dict[str, Any]] = []
        done: list[tuple[_Item, Received]] = []
        async with self.engine.begin() as conn:
            pairs = {(i.inbox.id, i.contact_id) for i in items}
            of_pairs = tuple_(Conversation.inbox_id, Conversation.contact_id).in_(pairs)
            stored = await self._stored(conn, items, of_pairs)
            fresh = [i for i in items if (i.inbox.id, i.contact_id, i.data.client_message_id) not in stored]
            latest = (
                select(func.max(Conversation.id))
                .where(of_pairs)
                .group_by(Conversation.inbox_id, Conversation.contact_id)
            )
            open_convs = (
                {
                    (row.inbox_id, row.contact_id): row.id
                    for row in await conn.execute(
                        update(Conversation)
                        .where(Conversation.id.in_(latest), Conversation.status == ConversationStatus.OPEN)
                        .values(last_activity_at=now, last_incoming_at=now)
                        .returning(Conversation.id, Conversation.inbox_id, Conversation.contact_id)
                    )
                }
                if fresh
                else {}
            )
            todo = [i for i in fresh if (i.inbox.id, i.contact_id) in open_convs]
            rest.extend(i for i in fresh if (i.inbox.id, i.contact_id) not in open_convs)
            if todo:
                events, done = await self._insert(conn, todo, open_convs, now)
        # committed: publish, then answer (a sender never hears "stored" before the commit)
        if events and self.bus is not None:
            try:
                await publish_events(self.bus, events)
            except Exception:  # stored and in the event log: sockets catch up on resume
                log.exception("publishing %d committed message events failed", len(events))
        for item in items:
            retry = (item.inbox.id, item.contact_id, item.data.client_message_id)
            if retry in stored:
                conv_id, msg = stored[retry]
                item.future.set_result(Received(conv_id, msg, created=False))
        for item, result in done:
            item.future.set_result(result)
        self.fast += len(done)
        return rest

    async def _stored(
        self, conn: Any, items: list[_Item], of_pairs: Any
    ) -> dict[tuple[int, int, str | None], tuple[int, MessageRead]]:
        cmids = {i.data.client_message_id for i in items if i.data.client_message_id is not None}
        if not cmids:
            return {}
        q = (
            select(Conversation.inbox_id, Conversation.contact_id.label("conv_contact_id"), *Message.__table__.c)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(of_pairs, Message.client_message_id.in_(cmids))
        )
        out: dict[tuple[int, int, str | None], tuple[int, MessageRead]] = {}
        for row in await conn.execute(q):
            msg = MessageRead.model_validate(dict(row._mapping))
            out[(row.inbox_id, row.conv_contact_id, row.client_message_id)] = (row.conversation_id, msg)
        return out

    async def _insert(
        self, conn: Any, todo: list[_Item], open_convs: dict[tuple[int, int], int], now: Any
    ) -> tuple[list[dict[str, Any]], list[tuple[_Item, Received]]]:
        rows = [
            {
                "account_id": i.inbox.account_id,
                "conversation_id": open_convs[(i.inbox.id, i.contact_id)],
                "direction": str(Direction.INCOMING),
                "kind": str(MessageKind.TEXT),
                "sender_type": str(ActorType.CONTACT),
                "sender_id": i.contact_id,
                "content": i.data.content,
                "attachments": [a.model_dump() for a in i.data.attachments],
                "client_message_id": i.data.client_message_id,
                "meta": {},
                "created_at": now,
            }
            for i in todo
        ]
        ids = (
            (await conn.execute(insert(Message).returning(Message.id, sort_by_parameter_order=True), rows))
            .scalars()
            .all()
        )
        reads = [MessageRead.model_validate({**row, "id": mid}) for row, mid in zip(rows, ids, strict=True)]
        event_rows = [
            {
                "account_id": row["account_id"],
                "type": str(EventType.MESSAGE_CREATED),
                "conversation_id": row["conversation_id"],
                "contact_id": row["sender_id"],
                "actor_type": str(ActorType.CONTACT),
                "actor_id": row["sender_id"],
                "payload": read.model_dump(mode="json"),
                "created_at": now,
            }
            for row, read in zip(rows, reads, strict=True)
        ]
        event_ids = (
            (await conn.execute(insert(Event).returning(Event.id, sort_by_parameter_order=True), event_rows))
            .scalars()
            .all()
        )
        messages = [event_message(Event(id=eid, **ev)) for ev, eid in zip(event_rows, event_ids, strict=True)]
        done = [(i, Received(r.conversation_id, r, created=True)) for i, r in zip(todo, reads, strict=True)]
        return messages, done


def get_ingest(state: Any) -> MessageIngest:
    ingest: MessageIngest | None = state.extras.get(EXTRAS_KEY)
    if ingest is None:
        ingest = MessageIngest(state.engine, state.sessionmaker, state.bus)
        state.extras[EXTRAS_KEY] = ingest
    return ingest


async def stop_ingest(state: Any) -> None:
    ingest: MessageIngest | None = state.extras.get(EXTRAS_KEY)
    if ingest is not None:
        await ingest.stop()
