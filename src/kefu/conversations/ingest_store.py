"""The set-based statements behind `kefu.conversations.ingest`, in two implementations that pass the same
tests (tests/conversations/test_ingest.py runs on both databases):

- `SqlStore` — SQLAlchemy Core, any database (the embedded SQLite): multi-row statements, a
  connection from the pool per batch (SQLite has one, shared with every request).
- `PgStore` — PostgreSQL through the asyncpg connection under SQLAlchemy: array parameters (`unnest`)
  so the statement texts never change with the batch size and stay prepared; ids drawn from the
  tables' sequences up front, so messages and their events go in with one statement; one connection
  kept by the writer (no pool checkout, no ping per batch).

Both raise `DuplicateMessage` when a concurrent writer stored the same client_message_id first.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kefu.conversations import incoming
from kefu.conversations.incoming import Pair, conversations_of, latest_conversation_ids
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import MessageRead
from kefu.core.constants import ActorType, ConversationStatus, EventType
from kefu.core.event_types import stored_payload
from kefu.core.eventlog import Event

Payload = Callable[["NewMessage", int], dict[str, Any]]


class DuplicateMessage(Exception):
    """A message of the batch has a client_message_id that a concurrent writer stored first."""


@dataclass(frozen=True)
class NewMessage:
    account_id: int
    inbox_id: int
    conversation_id: int
    contact_id: int
    content: str
    attachments: list[dict[str, Any]]
    client_message_id: str | None

    def row(self, at: datetime) -> dict[str, Any]:
        return incoming.incoming_row(
            account_id=self.account_id,
            inbox_id=self.inbox_id,
            conversation_id=self.conversation_id,
            contact_id=self.contact_id,
            content=self.content,
            attachments=self.attachments,
            client_message_id=self.client_message_id,
            at=at,
        )

    def read(self, message_id: int, at: datetime) -> MessageRead:
        return MessageRead.model_validate({"id": message_id, **self.row(at)})


@dataclass(frozen=True)
class StoredMessage:
    inbox_id: int
    contact_id: int
    message: MessageRead


class Store(Protocol):
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]: ...

    async def stored(self, conn: Any, pairs: list[Pair], cmids: list[str]) -> list[StoredMessage]:
        """Messages of these (inbox, contact) pairs' conversations with one of these client_message_ids."""
        ...

    async def touch_open(self, conn: Any, pairs: list[Pair], now: datetime) -> dict[Pair, int]:
        """Bump the activity times of each pair's latest conversation if it is open (row-locking it);
        return pair → conversation id for those."""
        ...

    async def insert(self, conn: Any, rows: list[NewMessage], now: datetime, payload: Payload) -> list[tuple[int, int]]:
        """Insert the messages and their message.created events; (message id, event id) per row, in order.
        `payload(row, message_id)` gives the event's payload as published; the row stores its slim form
        (core/event_types.py: the message is referenced, not copied)."""
        ...

    async def close(self) -> None: ...


class SqlStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    async def stored(self, conn: AsyncConnection, pairs: list[Pair], cmids: list[str]) -> list[StoredMessage]:
        q = (
            select(
                Conversation.inbox_id.label("conv_inbox_id"),
                Conversation.contact_id.label("conv_contact_id"),
                *Message.__table__.c,
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.conversation_id.in_(conversations_of(pairs)), Message.client_message_id.in_(cmids))
        )
        return [
            StoredMessage(row.conv_inbox_id, row.conv_contact_id, MessageRead.model_validate(dict(row._mapping)))
            for row in await conn.execute(q)
        ]

    async def touch_open(self, conn: AsyncConnection, pairs: list[Pair], now: datetime) -> dict[Pair, int]:
        if not pairs:
            return {}
        q = (
            update(Conversation)
            .where(Conversation.id.in_(latest_conversation_ids(pairs)), Conversation.status == ConversationStatus.OPEN)
            .values(incoming.activity(now))
            .returning(Conversation.id, Conversation.inbox_id, Conversation.contact_id)
        )
        return {(row.inbox_id, row.contact_id): row.id for row in await conn.execute(q)}

    async def insert(
        self, conn: AsyncConnection, rows: list[NewMessage], now: datetime, payload: Payload
    ) -> list[tuple[int, int]]:
        values = [r.row(now) for r in rows]
        try:
            result = await conn.execute(insert(Message).returning(Message.id, sort_by_parameter_order=True), values)
        except IntegrityError as exc:
            raise DuplicateMessage(str(exc)) from exc
        ids = list(result.scalars().all())
        events = [
            {
                "account_id": r.account_id,
                "type": str(EventType.MESSAGE_CREATED),
                "conversation_id": r.conversation_id,
                "contact_id": r.contact_id,
                "actor_type": str(ActorType.CONTACT),
                "actor_id": r.contact_id,
                "payload": stored_payload(EventType.MESSAGE_CREATED, payload(r, mid)),
                "created_at": now,
            }
            for r, mid in zip(rows, ids, strict=True)
        ]
        result = await conn.execute(insert(Event).returning(Event.id, sort_by_parameter_order=True), events)
        return list(zip(ids, result.scalars().all(), strict=True))

    async def close(self) -> None:
        return None


_PG_STORED = """
SELECT c.inbox_id, c.contact_id AS conv_contact_id, m.id, m.conversation_id, m.direction, m.kind, m.sender_type,
       m.sender_id, m.content, m.attachments::text AS attachments, m.client_message_id, m.meta::text AS meta,
       m.created_at, m.inbox_id AS message_inbox_id
FROM messages m
JOIN conversations c ON c.id = m.conversation_id
JOIN unnest($1::bigint[], $2::bigint[]) AS p(inbox_id, contact_id)
  ON c.inbox_id = p.inbox_id AND c.contact_id = p.contact_id
WHERE m.client_message_id = ANY($3::text[])
"""
# Rows are locked in id order first: two nodes' batches touching the same conversations in different
# orders would otherwise deadlock (PostgreSQL detects it only after deadlock_timeout, 1 s).
_PG_TOUCH_OPEN = f"""
WITH locked AS (
    SELECT id FROM conversations
    WHERE id IN (
        SELECT max(c.id) FROM conversations c
        JOIN unnest($2::bigint[], $3::bigint[]) AS p(inbox_id, contact_id)
          ON c.inbox_id = p.inbox_id AND c.contact_id = p.contact_id
        GROUP BY c.inbox_id, c.contact_id
    ) AND status = '{ConversationStatus.OPEN}'
    ORDER BY id
    FOR UPDATE
)
UPDATE conversations SET {", ".join(f"{c} = $1" for c in incoming.ACTIVITY_COLUMNS)}
FROM locked WHERE conversations.id = locked.id
RETURNING conversations.id, conversations.inbox_id, conversations.contact_id
"""
_PG_IDS = "SELECT nextval('messages_id_seq') AS m, nextval('events_id_seq') AS e FROM generate_series(1, $1)"
_PG_INSERT = f"""
WITH m AS (
    INSERT INTO messages (id, account_id, inbox_id, conversation_id, direction, kind, sender_type, sender_id,
                          content, attachments, client_message_id, meta, created_at)
    SELECT id, account_id, inbox_id, conversation_id, '{incoming.DIRECTION}', '{incoming.KIND}',
           '{incoming.SENDER_TYPE}', contact_id, content, attachments::jsonb, cmid, '{{}}'::jsonb, $1
    FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[],
                $11::bigint[])
      AS t(id, account_id, conversation_id, contact_id, content, attachments, cmid, inbox_id)
)
INSERT INTO events (id, account_id, type, conversation_id, contact_id, actor_type, actor_id, payload, created_at)
SELECT id, account_id, '{EventType.MESSAGE_CREATED}', conversation_id, contact_id, '{ActorType.CONTACT}', contact_id,
       payload::jsonb, $1
FROM unnest($9::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $10::text[])
  AS e(id, account_id, conversation_id, contact_id, payload)
"""


class PgStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        if self._conn is None:
            self._conn = await self.engine.connect()
        try:
            raw = await self._conn.get_raw_connection()
            apg = raw.driver_connection
            assert apg is not None
            async with apg.transaction():
                yield apg
        except BaseException:
            await self.close()  # a broken connection is not reused; the next batch takes a fresh one
            raise

    async def stored(self, conn: Any, pairs: list[Pair], cmids: list[str]) -> list[StoredMessage]:
        rows = await conn.fetch(_PG_STORED, [p[0] for p in pairs], [p[1] for p in pairs], cmids)
        out = []
        for row in rows:
            data = dict(row)
            data["attachments"], data["meta"] = json.loads(data["attachments"]), json.loads(data["meta"])
            data["inbox_id"] = data.pop("message_inbox_id")
            out.append(StoredMessage(row["inbox_id"], row["conv_contact_id"], MessageRead.model_validate(data)))
        return out

    async def touch_open(self, conn: Any, pairs: list[Pair], now: datetime) -> dict[Pair, int]:
        if not pairs:
            return {}
        rows = await conn.fetch(_PG_TOUCH_OPEN, now, [p[0] for p in pairs], [p[1] for p in pairs])
        return {(row["inbox_id"], row["contact_id"]): row["id"] for row in rows}

    async def insert(self, conn: Any, rows: list[NewMessage], now: datetime, payload: Payload) -> list[tuple[int, int]]:
        import asyncpg

        drawn = await conn.fetch(_PG_IDS, len(rows))
        ids = list(zip(sorted(r["m"] for r in drawn), sorted(r["e"] for r in drawn), strict=True))
        payloads = [
            json.dumps(stored_payload(EventType.MESSAGE_CREATED, payload(r, mid)), ensure_ascii=False)
            for r, (mid, _) in zip(rows, ids, strict=True)
        ]
        try:
            await conn.execute(
                _PG_INSERT,
                now,
                [mid for mid, _ in ids],
                [r.account_id for r in rows],
                [r.conversation_id for r in rows],
                [r.contact_id for r in rows],
                [r.content for r in rows],
                [json.dumps(r.attachments, ensure_ascii=False) for r in rows],
                [r.client_message_id for r in rows],
                [eid for _, eid in ids],
                payloads,
                [r.inbox_id for r in rows],
            )
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateMessage(str(exc)) from exc
        return ids

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close()


def make_store(engine: AsyncEngine) -> Store:
    return PgStore(engine) if engine.dialect.name == "postgresql" else SqlStore(engine)
