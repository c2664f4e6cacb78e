"""SLA policies and business calendars: the only place that writes them (docs/sla.md).

Every check_* validates the whole request before it writes, in one transaction: an import or a day that
contradicts what is stored, a policy naming another account's calendar, a calendar still used by a policy →
a 4xx saying what is wrong, nothing saved.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.hours import OpenRange
from kefu.auth.access import get_scoped, restrict
from kefu.core import clock
from kefu.core.errors import Conflict, NotFound, Unprocessable
from kefu.sla.calendar import Calendar
from kefu.sla.ical import IcalError, parse_ical
from kefu.sla.models import DayKind, SlaCalendar, SlaCalendarDay, SlaPolicy
from kefu.sla.policies import Targets, matrix
from kefu.sla.schemas import (
    CalendarCreate,
    CalendarDayCreate,
    CalendarDayRead,
    CalendarImported,
    CalendarRead,
    CalendarUpdate,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
)

# ---- calendars ---------------------------------------------------------------------------------------


def _week_json(week: dict[str, list[OpenRange]]) -> dict[str, list[dict[str, str]]]:
    return {d: [r.model_dump() for r in ranges] for d, ranges in week.items()}


async def list_calendars(session: AsyncSession, account_id: int) -> list[SlaCalendar]:
    q = restrict(select(SlaCalendar), SlaCalendar, account_id).order_by(SlaCalendar.name, SlaCalendar.id)
    return list((await session.execute(q)).scalars())


async def get_calendar(session: AsyncSession, account_id: int, calendar_id: int) -> SlaCalendar:
    return await get_scoped(session, SlaCalendar, calendar_id, account_id, "calendar")


async def list_days(session: AsyncSession, calendar_id: int) -> list[SlaCalendarDay]:
    q = select(SlaCalendarDay).where(SlaCalendarDay.calendar_id == calendar_id).order_by(SlaCalendarDay.day)
    return list((await session.execute(q)).scalars())


def _read(cal: SlaCalendar, days: list[SlaCalendarDay]) -> CalendarRead:
    return CalendarRead(
        id=cal.id,
        name=cal.name,
        timezone=cal.timezone,
        week=cal.week,
        days=[CalendarDayRead.model_validate(d) for d in days],
        created_at=cal.created_at,
    )


async def read_calendar(session: AsyncSession, cal: SlaCalendar) -> CalendarRead:
    return _read(cal, await list_days(session, cal.id))


async def read_calendars(session: AsyncSession, account_id: int) -> list[CalendarRead]:
    """Every calendar of the account with its days: two queries whatever their number."""
    cals = await list_calendars(session, account_id)
    q = restrict(select(SlaCalendarDay), SlaCalendarDay, account_id).order_by(SlaCalendarDay.day)
    by_calendar: dict[int, list[SlaCalendarDay]] = {c.id: [] for c in cals}
    for day in (await session.execute(q)).scalars():
        by_calendar.setdefault(day.calendar_id, []).append(day)
    return [_read(c, by_calendar[c.id]) for c in cals]


async def load_calendar(session: AsyncSession, calendar_id: int | None) -> Calendar | None:
    """The pure calendar of a stored one; None (24×7) for no calendar or one since deleted."""
    if calendar_id is None:
        return None
    cal = await session.get(SlaCalendar, calendar_id)
    if cal is None:
        return None
    days = await list_days(session, cal.id)
    week = {d: tuple(OpenRange.model_validate(r) for r in ranges) for d, ranges in cal.week.items()}
    return Calendar(
        timezone=cal.timezone,
        week=week,
        holidays=frozenset(d.day for d in days if d.kind == DayKind.HOLIDAY),
        workdays={
            d.day: tuple(OpenRange.model_validate(r) for r in d.hours) for d in days if d.kind == DayKind.WORKDAY
        },
    )


async def _name_free(session: AsyncSession, account_id: int, name: str, but: int | None = None) -> None:
    q = restrict(select(SlaCalendar.id), SlaCalendar, account_id).where(SlaCalendar.name == name)
    found = (await session.execute(q)).scalar()
    if found is not None and found != but:
        raise Conflict(f"a calendar named {name!r} exists already")


async def check_create_calendar(session: AsyncSession, account_id: int, data: CalendarCreate) -> SlaCalendar:
    await _name_free(session, account_id, data.name)
    now = clock.now()
    cal = SlaCalendar(
        account_id=account_id,
        name=data.name,
        timezone=data.timezone,
        week=_week_json(data.week),
        created_at=now,
        updated_at=now,
    )
    session.add(cal)
    await session.commit()
    return cal


async def check_update_calendar(
    session: AsyncSession, account_id: int, calendar_id: int, data: CalendarUpdate
) -> SlaCalendar:
    cal = await get_calendar(session, account_id, calendar_id)
    if data.name is not None:
        await _name_free(session, account_id, data.name, but=cal.id)
        cal.name = data.name
    if data.timezone is not None:
        cal.timezone = data.timezone
    if data.week is not None:
        cal.week = _week_json(data.week)
    cal.updated_at = clock.now()
    await session.commit()
    return cal


async def check_delete_calendar(session: AsyncSession, account_id: int, calendar_id: int) -> None:
    cal = await get_calendar(session, account_id, calendar_id)
    q = select(SlaPolicy.priority, SlaPolicy.tier).where(SlaPolicy.calendar_id == cal.id)
    users = [f"{p}/{t}" for p, t in await session.execute(q)]
    if users:
        raise Conflict(f"calendar {cal.name!r} is used by the policies {', '.join(users)}", details={"policies": users})
    await session.delete(cal)
    await session.commit()


def _contradiction(existing: SlaCalendarDay, kind: str) -> Unprocessable:
    return Unprocessable(
        f"{existing.day.isoformat()} is already a {existing.kind} ({existing.name or 'no name'}); "
        f"remove it before making it a {kind}",
        details={"day": existing.day.isoformat(), "existing": existing.kind},
    )


async def check_add_day(
    session: AsyncSession, account_id: int, calendar_id: int, data: CalendarDayCreate
) -> SlaCalendarDay:
    cal = await get_calendar(session, account_id, calendar_id)
    q = select(SlaCalendarDay).where(SlaCalendarDay.calendar_id == cal.id, SlaCalendarDay.day == data.day)
    existing = (await session.execute(q)).scalar_one_or_none()
    if existing is not None:
        if existing.kind != data.kind:
            raise _contradiction(existing, data.kind)
        raise Conflict(f"{data.day.isoformat()} is already a {existing.kind} of this calendar")
    day = SlaCalendarDay(
        account_id=account_id,
        calendar_id=cal.id,
        day=data.day,
        kind=data.kind,
        name=data.name,
        hours=[r.model_dump() for r in data.hours],
    )
    session.add(day)
    try:
        await session.commit()
    except IntegrityError:  # the same date added concurrently
        await session.rollback()
        raise Conflict(f"{data.day.isoformat()} is already in this calendar") from None
    return day


async def check_delete_day(session: AsyncSession, account_id: int, calendar_id: int, day_id: int) -> None:
    cal = await get_calendar(session, account_id, calendar_id)
    day = await get_scoped(session, SlaCalendarDay, day_id, account_id, "calendar day")
    if day.calendar_id != cal.id:
        raise Unprocessable("that day belongs to another calendar")
    await session.delete(day)
    await session.commit()


async def check_import_ical(session: AsyncSession, account_id: int, calendar_id: int, text: bytes) -> CalendarImported:
    """Add the holidays and make-up days of an iCal text (kefu.sla.ical): all of them, or — malformed,
    contradicting itself or a stored day — none."""
    cal = await get_calendar(session, account_id, calendar_id)
    try:
        imported = parse_ical(text, cal.timezone)
    except IcalError as exc:
        raise Unprocessable(str(exc)) from None
    stored = {d.day: d for d in await list_days(session, cal.id)}
    clashes = [stored[d.day] for d in imported if d.day in stored and stored[d.day].kind != d.kind]
    if clashes:
        raise _contradiction(clashes[0], next(d.kind for d in imported if d.day == clashes[0].day))
    added = updated = 0
    for item in imported:
        if item.day in stored:
            stored[item.day].name = item.name
            updated += 1
            continue
        session.add(
            SlaCalendarDay(
                account_id=account_id, calendar_id=cal.id, day=item.day, kind=item.kind, name=item.name, hours=[]
            )
        )
        added += 1
    await session.commit()
    return CalendarImported(calendar=await read_calendar(session, cal), added=added, updated=updated)


# ---- policies ----------------------------------------------------------------------------------------


async def list_policies(session: AsyncSession, account_id: int) -> list[SlaPolicy]:
    q = restrict(select(SlaPolicy), SlaPolicy, account_id).order_by(SlaPolicy.priority, SlaPolicy.tier)
    return list((await session.execute(q)).scalars())


def read_policy(targets: Targets) -> PolicyRead:
    return PolicyRead(
        id=targets.policy_id,
        priority=targets.priority,
        tier=targets.tier,
        first_response_min=targets.first_response_min,
        next_response_min=targets.next_response_min,
        resolution_min=targets.resolution_min,
        warn_fraction=targets.warn_fraction,
        calendar_id=targets.calendar_id,
    )


async def read_matrix(session: AsyncSession, account_id: int) -> list[PolicyRead]:
    return [read_policy(t) for t in matrix(await list_policies(session, account_id))]


async def get_policy(session: AsyncSession, account_id: int, policy_id: int) -> SlaPolicy:
    return await get_scoped(session, SlaPolicy, policy_id, account_id, "policy")


async def _check_calendar(session: AsyncSession, account_id: int, calendar_id: int | None) -> None:
    if calendar_id is not None:
        try:
            await get_calendar(session, account_id, calendar_id)
        except NotFound:
            message = f"calendar {calendar_id} does not exist"
            raise Unprocessable(message, details={"calendar_id": calendar_id}) from None


async def check_create_policy(session: AsyncSession, account_id: int, data: PolicyCreate) -> SlaPolicy:
    await _check_calendar(session, account_id, data.calendar_id)
    q = restrict(select(SlaPolicy.id), SlaPolicy, account_id).where(
        SlaPolicy.priority == data.priority, SlaPolicy.tier == data.tier
    )
    if (await session.execute(q)).scalar() is not None:
        raise Conflict(f"a policy for {data.priority} / {data.tier} exists already; change that one")
    now = clock.now()
    policy = SlaPolicy(account_id=account_id, **data.model_dump(), created_at=now, updated_at=now)
    session.add(policy)
    await session.commit()
    return policy


async def check_update_policy(session: AsyncSession, account_id: int, policy_id: int, data: PolicyUpdate) -> SlaPolicy:
    policy = await get_policy(session, account_id, policy_id)
    changes = data.model_dump(exclude_unset=True)
    if "calendar_id" in changes:
        await _check_calendar(session, account_id, changes["calendar_id"])
    first = changes.get("first_response_min", policy.first_response_min)
    if changes.get("resolution_min", policy.resolution_min) < first:
        raise Unprocessable("resolution_min must not be shorter than first_response_min")
    for key, value in changes.items():
        setattr(policy, key, value)
    policy.updated_at = clock.now()
    await session.commit()
    return policy


async def check_delete_policy(session: AsyncSession, account_id: int, policy_id: int) -> None:
    policy = await get_policy(session, account_id, policy_id)
    await session.delete(policy)
    await session.commit()
