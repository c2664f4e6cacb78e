"""/api/v1/teams, /api/v1/account."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.accounts import service
from kefu.accounts.hours import BusinessHours
from kefu.accounts.models import Account
from kefu.accounts.schemas import AccountRead, ContinuitySetting, OutboundHosts, TeamCreate, TeamRead, TeamUpdate
from kefu.auth.deps import CanManageInboxes, CanManageOutbound, CanManageTeams, CanViewTeam, PrincipalDep
from kefu.core.deps import SessionDep
from kefu.core.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["teams"])


@router.get("/account", response_model=AccountRead)
async def get_account(session: SessionDep, principal: PrincipalDep) -> AccountRead:
    return AccountRead.model_validate(await session.get(Account, principal.account_id))


@router.get("/account/business_hours", response_model=BusinessHours)
async def get_business_hours(session: SessionDep, principal: PrincipalDep) -> BusinessHours:
    """The account's weekly business hours and their time zone (anyone signed in may read them)."""
    return await service.get_business_hours(session, principal.account_id)


@router.put("/account/business_hours", response_model=BusinessHours)
async def put_business_hours(data: BusinessHours, session: SessionDep, principal: CanManageTeams) -> BusinessHours:
    """Replace the business hours (admins and supervisors). The bot tells customers who ask for a human
    outside them when someone will answer."""
    return await service.do_put_business_hours(session, principal.account_id, data, principal.actor)


@router.get("/account/outbound_hosts", response_model=OutboundHosts)
async def get_outbound_hosts(session: SessionDep, principal: CanManageOutbound) -> OutboundHosts:
    """The hosts the bot's flow actions may call (admins). See docs/bot.md#outbound-hosts."""
    return OutboundHosts(hosts=await service.get_outbound_hosts(session, principal.account_id))


@router.put("/account/outbound_hosts", response_model=OutboundHosts)
async def put_outbound_hosts(data: OutboundHosts, session: SessionDep, principal: CanManageOutbound) -> OutboundHosts:
    """Replace the list: `host` (any port, public addresses only) or `host:port` (that port, private and
    loopback addresses allowed). 422 names a malformed entry."""
    hosts = await service.do_set_outbound_hosts(session, principal.account_id, data.hosts, principal.actor)
    return OutboundHosts(hosts=hosts)


@router.get("/account/continuity", response_model=ContinuitySetting)
async def get_continuity(session: SessionDep, principal: PrincipalDep) -> ContinuitySetting:
    """What happens when a customer with an open conversation writes from another channel
    (docs/customers.md#continuity)."""
    return ContinuitySetting(continuity=await service.get_continuity(session, principal.account_id))


@router.put("/account/continuity", response_model=ContinuitySetting)
async def put_continuity(
    data: ContinuitySetting, session: SessionDep, principal: CanManageInboxes
) -> ContinuitySetting:
    """Set it (admins): `same_conversation` (default) or `linked`."""
    value = await service.do_set_continuity(session, principal.account_id, data.continuity, principal.actor)
    return ContinuitySetting(continuity=value)


@router.get("/teams", response_model=list[TeamRead])
async def list_teams(session: SessionDep, principal: CanViewTeam) -> list[TeamRead]:
    return await service.list_teams(session, principal.account_id)


@router.post("/teams", response_model=TeamRead, status_code=201)
async def create_team(data: TeamCreate, session: SessionDep, principal: CanManageTeams) -> TeamRead:
    return await service.check_create_team(session, principal.account_id, data, principal.actor)


@router.get("/teams/{team_id}", response_model=TeamRead)
async def get_team(team_id: Id, session: SessionDep, principal: CanViewTeam) -> TeamRead:
    return await service.get_team(session, principal.account_id, team_id)


@router.patch("/teams/{team_id}", response_model=TeamRead)
async def update_team(team_id: Id, data: TeamUpdate, session: SessionDep, principal: CanManageTeams) -> TeamRead:
    return await service.check_update_team(session, principal.account_id, team_id, data, principal.actor)
