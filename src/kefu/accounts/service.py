"""Accounts (tenants) and teams."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.hours import BusinessHours, hours_of
from kefu.accounts.models import Account, Team, TeamMember
from kefu.accounts.schemas import TeamCreate, TeamRead, TeamUpdate
from kefu.auth.access import get_scoped, restrict
from kefu.auth.models import User
from kefu.core.constants import Continuity, EventType
from kefu.core.errors import Conflict, NotFound
from kefu.core.events import Actor, commit, emit, rollback
from kefu.core.http import AllowedHost, HttpPolicy, parse_hosts

OUTBOUND_HOSTS = "outbound_hosts"  # key in Account.settings
CONTINUITY = "continuity"  # key in Account.settings: a Continuity (docs/customers.md#continuity)


async def do_create_account(session: AsyncSession, name: str, locale: str = "zh_CN") -> Account:
    account = Account(name=name, locale=locale, timezone="Asia/Shanghai", settings={})
    session.add(account)
    await session.flush()
    return account


async def get_business_hours(session: AsyncSession, account_id: int) -> BusinessHours:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("account", str(account_id))
    return hours_of(account.settings, account.timezone)


async def do_put_business_hours(
    session: AsyncSession, account_id: int, hours: BusinessHours, actor: Actor
) -> BusinessHours:
    """Replace the account's business hours (validated by `BusinessHours`); the time zone is the account's."""
    account = await session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise NotFound("account", str(account_id))
    stored = hours.model_dump(mode="json", exclude={"timezone"})
    account.settings = {**(account.settings or {}), "business_hours": stored}
    account.timezone = hours.timezone
    await session.flush()
    emit(session, account_id, EventType.ACCOUNT_UPDATED, {"business_hours": hours.model_dump(mode="json")}, actor=actor)
    await commit(session)
    return hours


async def get_outbound_hosts(session: AsyncSession, account_id: int) -> list[str]:
    account = await session.get(Account, account_id)
    return list((account.settings or {}).get(OUTBOUND_HOSTS, [])) if account else []


async def get_outbound_policy(session: AsyncSession, account_id: int) -> HttpPolicy:
    """What the account's flow actions may call (kefu.core.http)."""
    return HttpPolicy.of(await get_outbound_hosts(session, account_id))


async def do_set_outbound_hosts(session: AsyncSession, account_id: int, hosts: list[str], actor: Actor) -> list[str]:
    """Replace the account's outbound list (entries already validated: OutboundHosts)."""
    account = await session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise NotFound("account", account_id)
    clean = [str(h) for h in parse_hosts(hosts)]
    account.settings = {**(account.settings or {}), OUTBOUND_HOSTS: clean}
    emit(session, account_id, EventType.ACCOUNT_UPDATED, {OUTBOUND_HOSTS: clean}, actor=actor)
    await commit(session)
    return clean


async def do_add_outbound_host(session: AsyncSession, account_id: int, entry: AllowedHost, actor: Actor) -> list[str]:
    """Add one entry unless it is there already (the demo adds its own order API)."""
    hosts = await get_outbound_hosts(session, account_id)
    if str(entry) in hosts:
        return hosts
    return await do_set_outbound_hosts(session, account_id, [*hosts, str(entry)], actor)


async def list_teams(session: AsyncSession, account_id: int) -> list[TeamRead]:
    teams = list((await session.execute(restrict(select(Team), Team, account_id).order_by(Team.id))).scalars())
    members = await _members_by_team(session, account_id)
    return [_team_read(t, members.get(t.id, [])) for t in teams]


async def get_team(session: AsyncSession, account_id: int, team_id: int) -> TeamRead:
    team = await get_scoped(session, Team, team_id, account_id, "team")
    members = await _members_by_team(session, account_id, team_id)
    return _team_read(team, members.get(team_id, []))


async def check_create_team(session: AsyncSession, account_id: int, data: TeamCreate, actor: Actor) -> TeamRead:
    await _check_name_free(session, account_id, data.name)
    await _check_users(session, account_id, data.member_ids)
    try:
        team = Team(account_id=account_id, name=data.name, description=data.description)
        session.add(team)
        await session.flush()
        _set_members(session, team, data.member_ids)
        read = _team_read(team, sorted(set(data.member_ids)))
        emit(session, account_id, EventType.TEAM_CREATED, read.model_dump(mode="json"), actor=actor)
        await commit(session)
    except IntegrityError as exc:  # the same name, created by a concurrent request since the check
        await rollback(session)
        raise Conflict(f"a team named {data.name!r} already exists") from exc
    return read


async def check_update_team(
    session: AsyncSession, account_id: int, team_id: int, data: TeamUpdate, actor: Actor
) -> TeamRead:
    team = await get_scoped(session, Team, team_id, account_id, "team")
    # One update of a team at a time (PostgreSQL; SQLite writes are serial): two member lists replaced at
    # once would insert the same (team, user) rows twice.
    await session.execute(select(Team.id).where(Team.id == team.id).with_for_update())
    if data.name is not None and data.name != team.name:
        await _check_name_free(session, account_id, data.name)
        team.name = data.name
    if data.description is not None:
        team.description = data.description
    if data.member_ids is not None:
        await _check_users(session, account_id, data.member_ids)
        await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
        _set_members(session, team, data.member_ids)
    try:
        await session.flush()
        members = await _members_by_team(session, account_id, team.id)
        read = _team_read(team, members.get(team.id, []))
        emit(session, account_id, EventType.TEAM_UPDATED, read.model_dump(mode="json"), actor=actor)
        await commit(session)
    except IntegrityError as exc:  # renamed to a name another team took concurrently
        await rollback(session)
        raise Conflict(f"a team named {data.name!r} already exists") from exc
    return read


async def _check_name_free(session: AsyncSession, account_id: int, name: str) -> None:
    q = restrict(select(Team.id), Team, account_id).where(Team.name == name)
    if (await session.execute(q)).first() is not None:
        raise Conflict(f"a team named {name!r} already exists")


async def _check_users(session: AsyncSession, account_id: int, user_ids: list[int]) -> None:
    if not user_ids:
        return
    q = restrict(select(User.id), User, account_id).where(User.id.in_(user_ids))
    found = set((await session.execute(q)).scalars())
    missing = sorted(set(user_ids) - found)
    if missing:
        raise NotFound("user", ", ".join(map(str, missing)))


def _set_members(session: AsyncSession, team: Team, user_ids: list[int]) -> None:
    for uid in sorted(set(user_ids)):
        session.add(TeamMember(team_id=team.id, user_id=uid, account_id=team.account_id))


async def _members_by_team(session: AsyncSession, account_id: int, team_id: int | None = None) -> dict[int, list[int]]:
    q = restrict(select(TeamMember.team_id, TeamMember.user_id), TeamMember, account_id)
    if team_id is not None:
        q = q.where(TeamMember.team_id == team_id)
    out: dict[int, list[int]] = {}
    for tid, uid in (await session.execute(q.order_by(TeamMember.user_id))).all():
        out.setdefault(tid, []).append(uid)
    return out


def _team_read(team: Team, member_ids: list[int]) -> TeamRead:
    return TeamRead(
        id=team.id, name=team.name, description=team.description, member_ids=member_ids, created_at=team.created_at
    )


def continuity_of(settings: dict[str, object] | None) -> Continuity:
    value = (settings or {}).get(CONTINUITY)
    return Continuity(value) if value in {str(c) for c in Continuity} else Continuity.SAME_CONVERSATION


async def get_continuity(session: AsyncSession, account_id: int) -> Continuity:
    """Where a message from a contact with an open conversation in another inbox goes (default: into it)."""
    account = await session.get(Account, account_id)
    return continuity_of(account.settings if account else None)


async def do_set_continuity(session: AsyncSession, account_id: int, value: Continuity, actor: Actor) -> Continuity:
    account = await session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise NotFound("account", account_id)
    account.settings = {**(account.settings or {}), CONTINUITY: str(value)}
    emit(session, account_id, EventType.ACCOUNT_UPDATED, {CONTINUITY: str(value)}, actor=actor)
    await commit(session)
    return value
