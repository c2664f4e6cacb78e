"""Group commit for customers' messages — the engine under `conversations.inbound`, the one action every
channel calls; channels never call it directly.

A customer's message normally continues an open conversation. `MessageIngest.receive_many` queues them; one
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
path, in its own session. Both paths take what a customer's message is — its row, its conversation, the
activity it bumps, what a retry is — from `conversations.incoming`, so the result is identical either
way: one stored message, one event, a retry answered with the stored message (created=False).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kefu.channels.models import Inbox
from kefu.conversations.ingest_store import DuplicateMessage, NewMessage, make_store
from kefu.conversations.schemas import InboundMessage, MessageRead
from kefu.conversations.service import check_receive_contact_message
from kefu.core import clock, metrics
from kefu.core.bus import EventBus
from kefu.core.constants import ActorType, EventType
from kefu.core.errors import NotFound, Unavailable
from kefu.core.events import bind_bus, publish_events, realtime_message
from kefu.core.services import ServiceKey

if TYPE_CHECKING:
    from kefu.core.state import AppState

log = logging.getLogger("kefu.ingest")
MAX_BATCH = 200
WAIT_S = 30.0  # a sender waits this long for the commit, then gets a 503 and retries (same client_message_id)


@dataclass(frozen=True)
class Received:
    conversation_id: int
    message: MessageRead
    created: bool  # False when a retry was answered with the message stored the first time


@dataclass
class _Item:
    message: InboundMessage
    max_chars: int
    future: asyncio.Future[Received] = field(repr=False)

    @property
    def pair(self) -> tuple[int, int]:
        return (self.message.inbox.id, self.message.contact_id)

    @property
    def key(self) -> tuple[int, int, str | None]:
        return (*self.pair, self.message.data.client_message_id)


class MessageIngest:
    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus | None,
        *,
        wait_s: float = WAIT_S,
    ) -> None:
        self.wait_s = wait_s
        self.store = make_store(engine)
        self.sessionmaker = sessionmaker
        self.bus = bus
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._slow: set[asyncio.Task[None]] = set()
        self.batches = 0  # counters for tests and the benchmark
        self.fast = 0
        self.slow = 0

    async def receive_many(self, messages: list[InboundMessage], *, max_chars: int) -> list[Received]:
        """Store customers' messages (each exactly once per client_message_id) and publish their events.
        They are queued together, so they go into the same batch. Every message is stored or refused on
        its own; the first refusal is raised once all are settled (a retry stores only what is missing)."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run())
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Received]] = []
        for message in messages:
            futures.append(loop.create_future())
            self._queue.put_nowait(_Item(message, max_chars, futures[-1]))
        settled = futures[0] if len(futures) == 1 else asyncio.gather(*futures, return_exceptions=True)
        try:  # shielded: a sender that gives up or disconnects does not cancel the write
            await asyncio.wait_for(asyncio.shield(settled), self.wait_s)
        except TimeoutError:
            raise Unavailable(
                f"the message could not be stored within {self.wait_s:g} s; send it again with the same "
                "client_message_id (it is stored once)",
                retry_after=5,
            ) from None
        return [f.result() for f in futures]  # raises the first refusal

    async def stop(self) -> None:
        """Finish what is queued and in flight (shutdown)."""
        if self._writer is not None and not self._writer.done():
            self._queue.put_nowait(None)
            await self._writer
        if self._slow:
            await asyncio.gather(*self._slow, return_exceptions=True)
        await self.store.close()

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
        metrics.ingest_batch(len(batch))
        try:
            rest = await self._write(batch)
        except DuplicateMessage:  # a concurrent duplicate: every item goes through the one-message path
            log.info("batch of %d hit a concurrent duplicate; storing its messages one by one", len(batch))
            rest = [i for i in batch if not i.future.done()]
        except Exception:
            log.exception("batch of %d failed; storing its messages one by one", len(batch))
            rest = [i for i in batch if not i.future.done()]
        by_pair: dict[tuple[int, int], list[_Item]] = {}
        for item in rest:  # one sender's messages stay in the order they came (a channel's pulled batch)
            by_pair.setdefault(item.pair, []).append(item)
        for items in by_pair.values():
            task = asyncio.create_task(self._in_order(items))
            self._slow.add(task)
            task.add_done_callback(self._slow.discard)

    async def _in_order(self, items: list[_Item]) -> None:
        for item in items:
            await self._one(item)

    async def _one(self, item: _Item) -> None:
        """The one-message path (new conversation, reopen, duplicates within a batch, races)."""
        self.slow += 1
        try:
            async with self.sessionmaker() as session:
                bind_bus(session, self.bus)
                m = item.message
                inbox = await session.get(Inbox, m.inbox.id)
                if inbox is None:
                    raise NotFound("inbox", m.inbox.public_key)
                conv, posted = await check_receive_contact_message(
                    session,
                    inbox,
                    m.contact_id,
                    m.data,
                    max_chars=item.max_chars,
                    meta=m.meta,
                    conversation_id=m.conversation_id,
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
        seen: set[tuple[int, int, str | None]] = set()
        items: list[_Item] = []
        for item in batch:
            if item.message.meta or item.message.conversation_id is not None:
                rest.append(item)  # channel details or a thread: the one-message path stores them
                continue
            if item.message.data.client_message_id is not None:
                key = item.key
                if key in seen:
                    rest.append(item)  # the same message twice in one batch: the second waits for the first
                    continue
                seen.add(key)
            items.append(item)
        if not items:
            return rest
        now = clock.now()
        pairs = sorted({i.pair for i in items})
        cmids = sorted({i.key[2] for i in items if i.key[2] is not None})
        events: list[dict[str, Any]] = []
        done: list[tuple[_Item, Received]] = []
        async with self.store.transaction() as conn:
            stored = (
                {
                    (s.inbox_id, s.contact_id, s.message.client_message_id): s
                    for s in await self.store.stored(conn, pairs, cmids)
                }
                if cmids
                else {}
            )
            fresh = [i for i in items if i.key not in stored]
            open_convs = await self.store.touch_open(conn, sorted({i.pair for i in fresh}), now)
            todo = [i for i in fresh if i.pair in open_convs]
            rest.extend(i for i in fresh if i.pair not in open_convs)
            if todo:
                events, done = await self._insert(conn, todo, open_convs, now)
        # committed: publish, then answer (a sender never hears "stored" before the commit)
        if events and self.bus is not None:
            try:
                await publish_events(self.bus, events)
            except Exception:  # stored and in the event log: sockets catch up on resume
                log.exception("publishing %d committed message events failed", len(events))
        for item in items:
            retry = stored.get(item.key)
            if retry is not None:
                item.future.set_result(Received(retry.message.conversation_id, retry.message, created=False))
        for item, result in done:
            item.future.set_result(result)
        self.fast += len(done)
        return rest

    async def _insert(
        self, conn: Any, todo: list[_Item], open_convs: dict[tuple[int, int], int], now: datetime
    ) -> tuple[list[dict[str, Any]], list[tuple[_Item, Received]]]:
        rows = [
            NewMessage(
                account_id=i.message.inbox.account_id,
                inbox_id=i.message.inbox.id,
                conversation_id=open_convs[i.pair],
                contact_id=i.message.contact_id,
                content=i.message.data.content,
                attachments=[a.model_dump() for a in i.message.data.attachments],
                client_message_id=i.message.data.client_message_id,
            )
            for i in todo
        ]
        reads: list[MessageRead] = []
        dumps: list[dict[str, Any]] = []

        def payload(row: NewMessage, message_id: int) -> dict[str, Any]:
            read = row.read(message_id, now)
            reads.append(read)
            dumps.append(read.model_dump(mode="json"))
            return dumps[-1]

        ids = await self.store.insert(conn, rows, now, payload)
        messages = [
            realtime_message(
                id=event_id,
                account_id=row.account_id,
                type=str(EventType.MESSAGE_CREATED),
                conversation_id=row.conversation_id,
                contact_id=row.contact_id,
                actor_type=str(ActorType.CONTACT),
                actor_id=row.contact_id,
                payload=dumped,
                created_at=now,
            )
            for row, dumped, (_, event_id) in zip(rows, dumps, ids, strict=True)
        ]
        done = [(i, Received(r.conversation_id, r, created=True)) for i, r in zip(todo, reads, strict=True)]
        return messages, done


INGEST: ServiceKey[MessageIngest] = ServiceKey("the message ingest", "kefu.conversations.ingest.get_ingest")


def get_ingest(state: AppState) -> MessageIngest:
    """The node's ingest writer (created on first use: it starts its writer task on its first message)."""
    return state.services.get_or_install(INGEST, lambda: MessageIngest(state.engine, state.sessionmaker, state.bus))


async def stop_ingest(state: AppState) -> None:
    ingest = state.services.find(INGEST)
    if ingest is not None:
        await ingest.stop()
