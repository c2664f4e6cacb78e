"""Typed domain events: written to the event log in the same transaction as the change,
published on the realtime bus only after the commit succeeds (zulip's send_event_on_commit).

Services call `emit(session, ...)` while they work and `await commit(session)` at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.bus import EventBus
from kefu.core.constants import ActorType, EventType
from kefu.core.event_types import stored_payload
from kefu.core.eventlog import Event

_OUTBOX = "kefu_outbox"
_BUS = "kefu_bus"
# The realtime bus topic that tells the durable listeners' dispatcher there is something new to read.
LISTENERS_TOPIC = "listeners"


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM)


def account_topic(account_id: int) -> str:
    return f"account:{account_id}"


def contact_topic(contact_id: int) -> str:
    return f"contact:{contact_id}"


def bind_bus(session: AsyncSession, bus: EventBus | None) -> AsyncSession:
    session.info[_BUS] = bus
    return session


def emit(
    session: AsyncSession,
    account_id: int,
    type: EventType,
    payload: dict[str, Any],
    *,
    actor: Actor,
    conversation_id: int | None = None,
    contact_id: int | None = None,
) -> Event:
    """Record an event in the session's transaction. The payload is checked against its type's model
    (core/event_types.py); the log keeps the stored form (a message is referenced, not copied) while the
    realtime bus gets `payload` as given once the transaction commits."""
    event = Event(
        account_id=account_id,
        type=str(type),
        conversation_id=conversation_id,
        contact_id=contact_id,
        actor_type=str(actor.type),
        actor_id=actor.id,
        payload=stored_payload(type, payload),
    )
    session.add(event)
    session.info.setdefault(_OUTBOX, []).append((event, payload))
    return event


def event_message(event: Event, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """The realtime shape of a stored event (also used when replaying after a reconnect); `payload`
    replaces the stored one (a message's event carries the message, joined back by the reader)."""
    return realtime_message(
        id=event.id,
        type=event.type,
        account_id=event.account_id,
        conversation_id=event.conversation_id,
        contact_id=event.contact_id,
        actor_type=event.actor_type,
        actor_id=event.actor_id,
        payload=event.payload if payload is None else payload,
        created_at=event.created_at,
    )


def realtime_message(
    *,
    id: int,
    type: str,
    account_id: int,
    conversation_id: int | None,
    contact_id: int | None,
    actor_type: str,
    actor_id: int | None,
    payload: dict[str, Any],
    created_at: datetime,
) -> dict[str, Any]:
    """`event_message` from the event's fields, for writers that insert events without the ORM."""
    return {
        "id": id,
        "type": type,
        "account_id": account_id,
        "conversation_id": conversation_id,
        "contact_id": contact_id,
        "actor": {"type": actor_type, "id": actor_id},
        "payload": payload,
        "created_at": created_at.isoformat(),
    }


def recorded_events(session: AsyncSession) -> list[Event]:
    """The events recorded in the session's transaction so far, not yet committed (in order)."""
    return [event for event, _ in session.info.get(_OUTBOX, [])]


def forget_events_after(session: AsyncSession, count: int) -> None:
    """Drop what was recorded after the first `count` events (their savepoint was rolled back)."""
    outbox = session.info.get(_OUTBOX)
    if outbox is not None:
        del outbox[count:]


async def publish_committed(session: AsyncSession, bus: EventBus | None) -> None:
    """After a commit made without `commit()` (the listeners' dispatcher): publish what it recorded."""
    outbox: list[tuple[Event, dict[str, Any]]] = session.info.pop(_OUTBOX, [])
    if bus is not None and outbox:
        await publish_events(bus, [event_message(event, payload) for event, payload in outbox])


async def commit(session: AsyncSession) -> None:
    """Commit the transaction, then publish the events it recorded (never before)."""
    await session.commit()
    outbox: list[tuple[Event, dict[str, Any]]] = session.info.pop(_OUTBOX, [])
    bus: EventBus | None = session.info.get(_BUS)
    if bus is None or not outbox:
        return
    await publish_events(bus, [event_message(event, payload) for event, payload in outbox])


def event_topics(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (topic, message) pairs an event goes to: its account, and its contact when it has one."""
    out = [(account_topic(message["account_id"]), message)]
    if message.get("contact_id") is not None:
        out.append((contact_topic(message["contact_id"]), message))
    return out


async def publish_event(bus: EventBus, message: dict[str, Any]) -> None:
    await bus.publish_many(event_topics(message))


async def publish_events(bus: EventBus, messages: list[dict[str, Any]]) -> None:
    """Publish committed events in order, in one round trip on Redis, and nudge the durable listeners'
    dispatcher (core/listeners.py) — a hint only: its periodic run catches up whatever a nudge misses."""
    if not messages:
        return
    nudge = (LISTENERS_TOPIC, {"type": "listeners.nudge", "last_event_id": messages[-1]["id"]})
    await bus.publish_many([pair for m in messages for pair in event_topics(m)] + [nudge])


async def rollback(session: AsyncSession) -> None:
    await session.rollback()
    session.info.pop(_OUTBOX, None)
