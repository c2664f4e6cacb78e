"""Durable event listeners: named subscribers that read the event log by their own stored cursor.

A listener is registered with `@listener("name", events={EventType.X, ...})` in a module named in
`kefu.main.register_listeners()` (an explicit list, called by `kefu.main.register_jobs`). The dispatcher runs
from the job runner — the periodic job `listeners.dispatch` (every few seconds, the catch-up) and the same job enqueued
by `ListenerWaker` when a commit publishes events (the nudge, core/events.py `publish_events`). For each
listener it:

1. claims the listener's cursor row — `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number
   of nodes can run the dispatcher and only one handles a listener at a time; on SQLite the dispatch
   transaction starts with `BEGIN IMMEDIATE` (core/db.py), i.e. it holds the database's one write lock,
   which serialises dispatchers (embedded mode is one process anyway);
2. reads the next events after the cursor in id order. On PostgreSQL an id is drawn before its
   transaction commits, so a later id can be visible before an earlier one: the batch stops at the first
   gap in the ids unless the event after the gap is older than `GAP_GRACE_S` (then the gap is a
   rolled-back transaction, not a slow one). SQLite writers are serial: what is visible is final;
3. calls the handler for each event of the listener's types with the dispatch session, inside a
   savepoint: the handler's own writes and the cursor move commit together (at least once; exactly once
   for handlers that only write to this database);
4. a failing event is recorded as a dead letter `pending` and retried with exponential backoff; the
   listener waits for it (order is kept). After `max_attempts` it becomes `dead` and the cursor moves on;
   admins see it (Admin → Event listeners, GET /api/v1/listeners) and may retry or dismiss it.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core import clock
from kefu.core.bus import EventBus, Subscription
from kefu.core.event_types import EventPayload, parse_payload
from kefu.core.eventlog import Event
from kefu.core.events import LISTENERS_TOPIC, forget_events_after, publish_committed, recorded_events
from kefu.core.jobs import JobContext, JobRunner, job, periodic
from kefu.core.listeners_models import DeadLetter, DeadLetterStatus, ListenerCursor
from kefu.core.services import ServiceKey

log = logging.getLogger("kefu.listeners")
M = TypeVar("M", bound=BaseModel)

DISPATCH_JOB = "listeners.dispatch"
GAP_GRACE_S = 10.0  # how long a gap in event ids may be an uncommitted transaction (PostgreSQL)
BATCH = 200
MAX_BATCHES = 20  # per listener per run; the next run goes on
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 600.0
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class ListenedEvent:
    """What a handler receives: the stored event, its payload checked against its type's model."""

    id: int
    type: str
    account_id: int
    conversation_id: int | None
    contact_id: int | None
    actor_type: str
    actor_id: int | None
    payload: dict[str, Any]
    created_at: datetime
    data: EventPayload

    @classmethod
    def from_row(cls, event: Event) -> ListenedEvent:
        return cls(
            id=event.id,
            type=event.type,
            account_id=event.account_id,
            conversation_id=event.conversation_id,
            contact_id=event.contact_id,
            actor_type=event.actor_type,
            actor_id=event.actor_id,
            payload=event.payload,
            created_at=event.created_at,
            data=parse_payload(event.type, event.payload),  # a payload that does not fit is a failure
        )

    def payload_as(self, model: builtins.type[M]) -> M:
        return model.model_validate(self.payload)


Handler = Callable[[AsyncSession, ListenedEvent], Awaitable[None]]


@dataclass(frozen=True)
class ListenerSpec:
    name: str
    events: frozenset[str]
    handler: Handler
    max_attempts: int = 5
    start: Literal["first", "latest"] = "first"  # a new listener reads the whole log, or only what follows


@dataclass
class ListenerRegistry:
    specs: dict[str, ListenerSpec] = field(default_factory=dict)

    def listener(
        self, name: str, *, events: set[str], max_attempts: int = 5, start: Literal["first", "latest"] = "first"
    ) -> Callable[[Handler], Handler]:
        if not events or len(name) > 64 or max_attempts < 1:
            raise ValueError("a listener needs a name of at most 64 characters, event types and max_attempts >= 1")

        def register(handler: Handler) -> Handler:
            if name in self.specs:
                raise ValueError(f"listener {name!r} is already registered")
            self.specs[name] = ListenerSpec(name, frozenset(str(e) for e in events), handler, max_attempts, start)
            return handler

        return register

    def get(self, name: str) -> ListenerSpec | None:
        return self.specs.get(name)

    def __iter__(self) -> Iterator[ListenerSpec]:
        return iter(list(self.specs.values()))

    def __len__(self) -> int:
        return len(self.specs)


LISTENERS = ListenerRegistry()
listener = LISTENERS.listener


def load_listeners() -> None:
    """A hook for the listener modules: core knows no domain, so kefu.main.register_listeners imports them
    (an explicit list; docs/architecture.md, "How to add an event listener"). Nothing to do here."""


def backoff_s(attempts: int) -> float:
    return float(min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def safe_upper(cursor: int, head: list[tuple[int, datetime]], now: datetime, grace_s: float | None) -> int:
    """The highest id up to which the log is complete: ids after `cursor` in order, stopping before a gap
    whose next event is younger than `grace_s` (None: no gap check — SQLite)."""
    upper = cursor
    for event_id, created_at in head:
        if grace_s is not None and event_id != upper + 1 and created_at > now - timedelta(seconds=grace_s):
            break
        upper = event_id
    return upper


async def call_handler(session: AsyncSession, spec: ListenerSpec, event: Event) -> str | None:
    """Run the handler in a savepoint; the error text when it failed (its writes are then undone)."""
    before = len(recorded_events(session))
    try:
        async with session.begin_nested():
            await spec.handler(session, ListenedEvent.from_row(event))
    except Exception as exc:  # any failure of one event is recorded, never propagated
        forget_events_after(session, before)  # rolled back with the savepoint: never published
        log.warning("listener %s failed on event %s: %r", spec.name, event.id, exc)
        return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    return None


_CONTEXT: ContextVar[JobContext | None] = ContextVar("kefu_listener_context", default=None)


def listener_context() -> JobContext | None:
    """The job context of the dispatcher running the current handler (its job runner, bus, services and
    embedder), for handlers that enqueue jobs or use a model; None when the dispatcher was built without one."""
    return _CONTEXT.get()


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        registry: ListenerRegistry = LISTENERS,
        *,
        batch: int = BATCH,
        gap_grace_s: float = GAP_GRACE_S,
        context: JobContext | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.registry = registry
        self.batch = batch
        self.gap_grace_s = gap_grace_s
        self.context = context
        self._known: set[str] = set()

    async def run_once(self) -> dict[str, int]:
        """Every listener, as far as the log goes now; handled events per listener."""
        return {spec.name: await self.run_listener(spec) for spec in self.registry}

    async def run_listener(self, spec: ListenerSpec) -> int:
        token = _CONTEXT.set(self.context)
        try:
            return await self._run_listener(spec)
        finally:
            _CONTEXT.reset(token)

    async def _run_listener(self, spec: ListenerSpec) -> int:
        await self._ensure_cursor(spec)
        handled = 0
        for _ in range(MAX_BATCHES):
            count, more = await self._run_batch(spec)
            handled += count
            if not more:
                break
        return handled

    async def _ensure_cursor(self, spec: ListenerSpec) -> None:
        if spec.name in self._known:
            return
        async with self.sessionmaker() as session, session.begin():
            if await session.get(ListenerCursor, spec.name) is None:
                start = 0
                if spec.start == "latest":
                    start = int((await session.execute(select(func.max(Event.id)))).scalar() or 0)
                dialect = session.get_bind().dialect.name
                insert = pg_insert if dialect == "postgresql" else sqlite_insert
                values = {"name": spec.name, "last_event_id": start, "updated_at": clock.now()}
                await session.execute(insert(ListenerCursor).values(values).on_conflict_do_nothing())
        self._known.add(spec.name)

    async def _run_batch(self, spec: ListenerSpec) -> tuple[int, bool]:
        """One batch in one transaction: (events handled, whether more may be waiting). Events the handlers
        emitted are published after the commit (with the dispatcher's bus, when it has a context)."""
        async with self.sessionmaker() as session:
            result = await self._run_batch_in(session, spec)
            try:
                await publish_committed(session, self.context.bus if self.context is not None else None)
            except Exception:  # the bus is at most once: a lost publish never undoes or stops the dispatch
                log.exception("listener %s: could not publish its handlers' events", spec.name)
        return result

    async def _run_batch_in(self, session: AsyncSession, spec: ListenerSpec) -> tuple[int, bool]:
        async with session.begin():
            claim = select(ListenerCursor).where(ListenerCursor.name == spec.name).with_for_update(skip_locked=True)
            cursor = (await session.execute(claim)).scalar_one_or_none()
            if cursor is None:
                return 0, False  # another node is handling this listener right now
            now = clock.now()
            head_q = select(Event.id, Event.created_at).where(Event.id > cursor.last_event_id)
            head = [(r[0], r[1]) for r in await session.execute(head_q.order_by(Event.id).limit(self.batch))]
            grace = self.gap_grace_s if session.get_bind().dialect.name == "postgresql" else None
            upper = safe_upper(cursor.last_event_id, head, now, grace)
            if upper == cursor.last_event_id:
                return 0, False
            handled, upper, blocked = await self._handle(session, spec, cursor.last_event_id, upper, now)
            cursor.last_event_id = upper
            cursor.updated_at = now
        return handled, not blocked and len(head) == self.batch

    async def _handle(
        self, session: AsyncSession, spec: ListenerSpec, after: int, upper: int, now: datetime
    ) -> tuple[int, int, bool]:
        """Handle the listener's events in (after, upper]; (handled, new cursor, blocked by a retry)."""
        q = select(Event).where(Event.id > after, Event.id <= upper, Event.type.in_(spec.events)).order_by(Event.id)
        events = list((await session.execute(q)).scalars())
        letters: dict[int, DeadLetter] = {}
        if events:
            dq = select(DeadLetter).where(
                DeadLetter.listener == spec.name, DeadLetter.event_id.in_([e.id for e in events])
            )
            letters = {d.event_id: d for d in (await session.execute(dq)).scalars()}
        handled = 0
        for event in events:
            letter = letters.get(event.id)
            waiting = letter is not None and letter.status == DeadLetterStatus.PENDING
            if waiting and letter is not None and letter.next_attempt_at and letter.next_attempt_at > now:
                return handled, event.id - 1, True
            error = await call_handler(session, spec, event)
            if error is None:
                handled += 1
                if waiting and letter is not None:
                    _resolve(letter, now)
                continue
            letter = _record_failure(session, spec, event, letter, error, now)
            if letter.status == DeadLetterStatus.PENDING:
                return handled, event.id - 1, True
        return handled, upper, False


def _resolve(letter: DeadLetter, now: datetime) -> None:
    letter.status = DeadLetterStatus.RESOLVED
    letter.next_attempt_at = None
    letter.updated_at = now


def _record_failure(
    session: AsyncSession, spec: ListenerSpec, event: Event, letter: DeadLetter | None, error: str, now: datetime
) -> DeadLetter:
    if letter is None:
        letter = DeadLetter(listener=spec.name, event_id=event.id, account_id=event.account_id, attempts=0)
        session.add(letter)
    letter.attempts += 1
    letter.last_error = error
    letter.updated_at = now
    if letter.attempts >= spec.max_attempts:
        letter.status = DeadLetterStatus.DEAD
        letter.next_attempt_at = None
        log.error("listener %s gave up on event %s after %d attempts", spec.name, event.id, letter.attempts)
    else:
        letter.status = DeadLetterStatus.PENDING
        letter.next_attempt_at = now + timedelta(seconds=backoff_s(letter.attempts))
    return letter


DISPATCHER: ServiceKey[Dispatcher] = ServiceKey("the listener dispatcher", "kefu.core.listeners.dispatch")


@job(DISPATCH_JOB)
async def dispatch(ctx: JobContext) -> dict[str, int]:
    """Run every registered listener (the nudge after a commit)."""
    load_listeners()
    if not LISTENERS:
        return {}
    dispatcher = ctx.services.get_or_install(DISPATCHER, lambda: Dispatcher(ctx.sessionmaker, context=ctx))
    return await dispatcher.run_once()


@periodic("listeners.catch_up", every_s=5)
async def catch_up(ctx: JobContext) -> dict[str, int]:
    """The periodic run: whatever a nudge missed (lost bus message, restart, a retry's backoff ending)."""
    return await dispatch(ctx)


class ListenerWaker:
    """Turns the nudges that commits publish on the bus into `listeners.dispatch` jobs, at most one per
    `interval_s` per process (nudges arriving meanwhile are coalesced). A hint only: the periodic job is
    what guarantees progress."""

    def __init__(self, bus: EventBus, jobs: JobRunner, interval_s: float = 0.2) -> None:
        self.bus = bus
        self.jobs = jobs
        self.interval_s = interval_s
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        load_listeners()
        if not LISTENERS:
            return  # nothing listens: no subscription, no jobs
        self._sub = await self.bus.subscribe(LISTENERS_TOPIC)
        self._task = asyncio.ensure_future(self._run(self._sub))

    async def _run(self, sub: Subscription) -> None:
        async for _ in sub:
            while await sub.get(timeout=0.01) is not None:
                pass  # coalesce what is already queued
            try:
                await self.jobs.enqueue(DISPATCH_JOB)
            except Exception:
                log.exception("could not enqueue %s", DISPATCH_JOB)
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._sub is not None:
            await self._sub.close()
