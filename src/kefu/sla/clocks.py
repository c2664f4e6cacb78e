"""SLA clocks: start, pause, resume, stop and retarget the clocks of a subject (a conversation or a ticket),
and fire the warning and breach of each clock once. The only place that writes `sla_clocks`.

A clock counts business time of its calendar (kefu.sla.calendar; none: 24×7) from `started_at`. Its
target is `target_s`; the business time it spent paused is `paused_s`, so

    due_at  = add_business_time(calendar, started_at, target_s + paused_s)
    warn_at = add_business_time(calendar, started_at, warn_fraction × target_s + paused_s)

A paused clock keeps its due_at (not counted as running); resuming adds the business time paused and moves
both instants. Each change asks the job runner for a check at warn_at and due_at (`sla.check`); the
periodic sweep (`sla.sweep`, every 30 s) catches what a lost job missed. Warning and breach are written
under a row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL) with the not-yet-fired check in the same
transaction, so each fires once whoever runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock, metrics
from kefu.core.constants import EventType
from kefu.core.event_types import SlaAlert
from kefu.core.events import Actor, emit
from kefu.core.listeners import listener_context
from kefu.sla.calendar import Calendar, NeverOpen, add_business_time, business_seconds
from kefu.sla.models import Metric, SlaClock, SlaPolicy, SubjectType
from kefu.sla.policies import Targets, choose
from kefu.sla.schemas import ClockRead, SubjectSla
from kefu.sla.service import load_calendar

log = logging.getLogger("kefu.sla")
CHECK_JOB = "sla.check"
ALL_METRICS = tuple(Metric)


async def targets_for(session: AsyncSession, account_id: int, priority: str, tier: str) -> Targets:
    q = select(SlaPolicy).where(SlaPolicy.account_id == account_id, SlaPolicy.priority == priority)
    return choose(list((await session.execute(q)).scalars()), priority, tier)


def _place(c: SlaClock, calendar: Calendar | None) -> None:
    """Set due_at and warn_at from the start, target and paused time."""
    try:
        c.due_at = add_business_time(calendar, c.started_at, c.target_s + c.paused_s)
        c.warn_at = add_business_time(calendar, c.started_at, round(c.warn_fraction * c.target_s) + c.paused_s)
    except NeverOpen:  # a calendar without hours: the target counts around the clock instead
        log.warning("SLA calendar %s never opens; clock %s counts 24×7", c.calendar_id, c.id)
        c.due_at = add_business_time(None, c.started_at, c.target_s + c.paused_s)
        c.warn_at = add_business_time(None, c.started_at, round(c.warn_fraction * c.target_s) + c.paused_s)


def remaining_s(c: SlaClock, calendar: Calendar | None, now: datetime) -> int:
    """Business seconds left (negative: overdue), counted up to now, the pause or the stop."""
    until = c.stopped_at or c.paused_at or now
    return round(c.target_s + c.paused_s - business_seconds(calendar, c.started_at, until))


def state(c: SlaClock) -> str:
    return "stopped" if c.stopped_at else "paused" if c.paused_at else "running"


async def clocks_of(
    session: AsyncSession, account_id: int, subject_type: str, subject_id: int, *, open_only: bool = False
) -> list[SlaClock]:
    q = select(SlaClock).where(
        SlaClock.account_id == account_id, SlaClock.subject_type == subject_type, SlaClock.subject_id == subject_id
    )
    if open_only:
        q = q.where(SlaClock.stopped_at.is_(None))
    return list((await session.execute(q.order_by(SlaClock.id))).scalars())


async def _schedule(c: SlaClock) -> None:
    """Ask the job runner to check the clock at its warning and due instants (a hint: the sweep is the net)."""
    ctx = listener_context()
    if ctx is None or ctx.runner is None or c.stopped_at or c.paused_at:
        return
    now = clock.now()
    for at, fired in ((c.warn_at, c.warned_at), (c.due_at, c.breached_at)):
        if fired is None and at > now:
            await ctx.runner.enqueue(CHECK_JOB, delay_s=(at - now).total_seconds() + 0.5, clock_id=c.id)


async def do_start_clock(
    session: AsyncSession,
    account_id: int,
    subject: tuple[str, int],
    metric: str,
    *,
    priority: str,
    tier: str,
    at: datetime,
) -> SlaClock:
    """Start `metric` for the subject at `at`, unless one is open already (then that one)."""
    subject_type, subject_id = subject
    for c in await clocks_of(session, account_id, subject_type, subject_id, open_only=True):
        if c.metric == metric:
            return c
    targets = await targets_for(session, account_id, priority, tier)
    c = SlaClock(
        account_id=account_id,
        subject_type=subject_type,
        subject_id=subject_id,
        metric=metric,
        priority=priority,
        policy_id=targets.policy_id,
        calendar_id=targets.calendar_id,
        target_s=targets.minutes(metric) * 60,
        warn_fraction=targets.warn_fraction,
        started_at=at,
        paused_s=0,
    )
    _place(c, await load_calendar(session, c.calendar_id))
    session.add(c)
    await session.flush()
    await _schedule(c)
    return c


async def do_stop_clocks(
    session: AsyncSession, account_id: int, subject: tuple[str, int], metrics: Iterable[str], *, at: datetime
) -> list[SlaClock]:
    wanted = set(metrics)
    stopped = []
    for c in await clocks_of(session, account_id, *subject, open_only=True):
        if c.metric in wanted:
            if c.paused_at is not None:  # stopped while paused: the pause ends with it
                c.paused_s += round(business_seconds(await load_calendar(session, c.calendar_id), c.paused_at, at))
                c.paused_at = None
            c.stopped_at = max(at, c.started_at)
            stopped.append(c)
    return stopped


async def do_pause_clocks(session: AsyncSession, account_id: int, subject: tuple[str, int], *, at: datetime) -> None:
    for c in await clocks_of(session, account_id, *subject, open_only=True):
        if c.paused_at is None:
            c.paused_at = max(at, c.started_at)


async def do_resume_clocks(session: AsyncSession, account_id: int, subject: tuple[str, int], *, at: datetime) -> None:
    for c in await clocks_of(session, account_id, *subject, open_only=True):
        if c.paused_at is not None:
            calendar = await load_calendar(session, c.calendar_id)
            c.paused_s += round(business_seconds(calendar, c.paused_at, at))
            c.paused_at = None
            _place(c, calendar)
            await _schedule(c)


async def do_retarget_clocks(
    session: AsyncSession, account_id: int, subject: tuple[str, int], *, priority: str, tier: str
) -> None:
    """The subject's priority or tier changed: its open clocks take the targets of the policy that now
    applies, counted from their start (a warning or breach already fired stays fired). Clocks already on
    that policy and priority keep their targets."""
    targets = await targets_for(session, account_id, priority, tier)
    for c in await clocks_of(session, account_id, *subject, open_only=True):
        if c.priority == priority and c.policy_id == targets.policy_id:
            continue
        c.priority = priority
        c.policy_id = targets.policy_id
        c.target_s = targets.minutes(c.metric) * 60
        c.warn_fraction = targets.warn_fraction
        c.calendar_id = targets.calendar_id
        _place(c, await load_calendar(session, c.calendar_id))
        await _schedule(c)


# ---- warnings and breaches ---------------------------------------------------------------------------


def _alert(session: AsyncSession, c: SlaClock, type_: EventType) -> None:
    payload = SlaAlert(
        subject_type=c.subject_type, subject_id=c.subject_id, metric=c.metric, due_at=c.due_at, priority=c.priority
    ).model_dump(mode="json")
    conversation_id = c.subject_id if c.subject_type == SubjectType.CONVERSATION else None
    emit(session, c.account_id, type_, payload, actor=Actor.system(), conversation_id=conversation_id)


async def do_fire_due(
    session: AsyncSession, *, now: datetime, clock_id: int | None = None, limit: int = 500
) -> tuple[int, int]:
    """Fire the warnings and breaches that are due (of one clock, or up to `limit`): (events written, clocks
    looked at).
    Each clock's row is locked while it is checked (PostgreSQL), so a warning or breach fires once."""
    q = (
        select(SlaClock)
        .where(
            SlaClock.stopped_at.is_(None),
            SlaClock.paused_at.is_(None),
            or_(
                (SlaClock.warned_at.is_(None)) & (SlaClock.warn_at <= now),
                (SlaClock.breached_at.is_(None)) & (SlaClock.due_at <= now),
            ),
        )
        .order_by(SlaClock.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if clock_id is not None:
        q = q.where(SlaClock.id == clock_id)
    fired = 0
    due = list((await session.execute(q)).scalars())
    for c in due:
        if c.warned_at is None and c.warn_at <= now:
            c.warned_at = now
            _alert(session, c, EventType.SLA_WARNING)
            fired += 1
        if c.breached_at is None and c.due_at <= now:
            c.breached_at = now
            _alert(session, c, EventType.SLA_BREACHED)
            metrics.sla_breached(c.metric)
            fired += 1
    return fired, len(due)


async def read_subject(
    session: AsyncSession, account_id: int, subject: tuple[str, int], *, due: datetime | None, now: datetime
) -> SubjectSla:
    """The subject's clocks, newest last, with their state and the business time left."""
    out = []
    calendars: dict[int | None, Calendar | None] = {}
    for c in await clocks_of(session, account_id, *subject):
        if c.calendar_id not in calendars:
            calendars[c.calendar_id] = await load_calendar(session, c.calendar_id)
        read = ClockRead.model_validate(
            {**{k: getattr(c, k) for k in ClockRead.model_fields if hasattr(c, k)}, "state": state(c),
             "remaining_s": remaining_s(c, calendars[c.calendar_id], now)}
        )  # fmt: skip
        out.append(read)
    return SubjectSla(subject_type=subject[0], subject_id=subject[1], sla_due_at=due, clocks=out)


async def warn_instants(session: AsyncSession, account_id: int, subjects: list[tuple[str, int]]) -> dict[int, datetime]:
    """For the countdown badges: subject id → the warning instant of its nearest running clock."""
    ids = [i for _, i in subjects]
    if not ids:
        return {}
    q = select(SlaClock).where(
        SlaClock.account_id == account_id,
        SlaClock.subject_type == subjects[0][0],
        SlaClock.subject_id.in_(ids),
        SlaClock.stopped_at.is_(None),
        SlaClock.paused_at.is_(None),
    )
    nearest: dict[int, SlaClock] = {}
    for c in (await session.execute(q)).scalars():
        if c.subject_id not in nearest or c.due_at < nearest[c.subject_id].due_at:
            nearest[c.subject_id] = c
    return {i: c.warn_at for i, c in nearest.items()}
