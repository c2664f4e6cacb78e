"""What admins see of the durable listeners and may do about them: each listener's cursor and lag (this
account's events it has not reached yet), the account's pending and dead letters, retry and dismiss.

Listener cursors are shared by all accounts (one pass over the log); lag and dead letters are scoped to
the asking account: an admin never sees another account's events or errors."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.core.errors import Conflict, NotFound
from kefu.core.eventlog import Event
from kefu.core.listeners import LISTENERS, ListenerRegistry, call_handler, load_listeners
from kefu.core.listeners_models import DeadLetter, DeadLetterStatus, ListenerCursor

DEAD_LETTER_LIMIT = 200


class ListenerRead(BaseModel):
    name: str
    events: list[str]
    max_attempts: int
    last_event_id: int
    updated_at: datetime | None
    lag: int  # this account's events of the listener's types after its cursor


class DeadLetterRead(BaseModel):
    id: int
    listener: str
    event_id: int
    event_type: str
    attempts: int
    last_error: str
    status: DeadLetterStatus
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ListenersOverview(BaseModel):
    listeners: list[ListenerRead]
    dead_letters: list[DeadLetterRead]  # pending and dead, newest first


async def get_overview(
    session: AsyncSession, account_id: int, registry: ListenerRegistry = LISTENERS
) -> ListenersOverview:
    load_listeners()
    cursors = {c.name: c for c in (await session.execute(select(ListenerCursor))).scalars()}
    listeners = []
    for spec in sorted(registry, key=lambda s: s.name):
        cursor = cursors.get(spec.name)
        after = cursor.last_event_id if cursor else 0
        lag = select(func.count()).where(Event.account_id == account_id, Event.id > after, Event.type.in_(spec.events))
        listeners.append(
            ListenerRead(
                name=spec.name,
                events=sorted(spec.events),
                max_attempts=spec.max_attempts,
                last_event_id=after,
                updated_at=cursor.updated_at if cursor else None,
                lag=int((await session.execute(lag)).scalar_one()),
            )
        )
    q = (
        select(DeadLetter, Event.type)
        .join(Event, Event.id == DeadLetter.event_id)
        .where(DeadLetter.account_id == account_id, DeadLetter.status != DeadLetterStatus.RESOLVED)
        .order_by(DeadLetter.id.desc())
        .limit(DEAD_LETTER_LIMIT)
    )
    letters = [_read(letter, type_) for letter, type_ in (await session.execute(q)).all()]
    return ListenersOverview(listeners=listeners, dead_letters=letters)


def _read(letter: DeadLetter, event_type: str) -> DeadLetterRead:
    return DeadLetterRead(
        id=letter.id,
        listener=letter.listener,
        event_id=letter.event_id,
        event_type=event_type,
        attempts=letter.attempts,
        last_error=letter.last_error,
        status=DeadLetterStatus(letter.status),
        next_attempt_at=letter.next_attempt_at,
        created_at=letter.created_at,
        updated_at=letter.updated_at,
    )


async def _dead_letter(session: AsyncSession, account_id: int, letter_id: int) -> tuple[DeadLetter, Event]:
    q = (
        select(DeadLetter, Event)
        .join(Event, Event.id == DeadLetter.event_id)
        .where(DeadLetter.id == letter_id, DeadLetter.account_id == account_id)
        .with_for_update(of=DeadLetter)
    )
    row = (await session.execute(q)).one_or_none()
    if row is None:
        raise NotFound("dead letter", letter_id)
    letter, event = row
    if letter.status != DeadLetterStatus.DEAD:
        raise Conflict(f"dead letter {letter_id} is {letter.status}: only a dead one can be retried or dismissed")
    return letter, event


async def do_retry_dead_letter(
    session: AsyncSession, account_id: int, letter_id: int, registry: ListenerRegistry = LISTENERS
) -> DeadLetterRead:
    """Run the listener on the event again, now: resolved when it succeeds, still dead (one more attempt
    and the new error) when it fails."""
    load_listeners()
    letter, event = await _dead_letter(session, account_id, letter_id)
    spec = registry.get(letter.listener)
    if spec is None:
        raise Conflict(f"listener {letter.listener!r} is no longer registered: dismiss the dead letter instead")
    error = await call_handler(session, spec, event)
    letter.attempts += 1
    letter.updated_at = clock.now()
    if error is None:
        letter.status = DeadLetterStatus.RESOLVED
    else:
        letter.last_error = error
    await session.commit()
    return _read(letter, event.type)


async def do_dismiss_dead_letter(session: AsyncSession, account_id: int, letter_id: int) -> DeadLetterRead:
    """Mark a dead letter resolved without handling its event."""
    letter, event = await _dead_letter(session, account_id, letter_id)
    letter.status = DeadLetterStatus.RESOLVED
    letter.updated_at = clock.now()
    await session.commit()
    return _read(letter, event.type)
