"""/admin — agents, teams, business hours, API tokens, outbound hosts (inboxes: web/pages/inboxes.py).

Each page needs its permission (inboxes, agents, tokens and outbound hosts: admins; teams and business
hours: admins and supervisors); anyone else gets the 403 page. Forms post back with the session's CSRF
token and redirect after success (POST/redirect/GET); a rejected form is shown again with the reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts import service as accounts
from kefu.accounts.hours import DAYS, BusinessHours, format_ranges, parse_ranges
from kefu.accounts.schemas import OutboundHosts, TeamCreate, TeamUpdate
from kefu.auth import service as auth
from kefu.auth.deps import CanManageInboxes, CanManageOutbound, CanManageTeams, CanManageTokens, CanManageUsers
from kefu.auth.principal import Principal
from kefu.auth.schemas import ApiTokenCreate, UserCreate, UserUpdate
from kefu.core.constants import Continuity, Role
from kefu.core.deps import SessionDep
from kefu.core.errors import KefuError, Unprocessable
from kefu.web.rendering import PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Context = Callable[[], Awaitable[dict[str, Any]]]


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _problem(request: Request, exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return t(request, "Please correct the form: %(details)s", details="; ".join(parts))
    assert isinstance(exc, KefuError)
    return exc.message


async def _form_failed(
    request: Request, template: str, context: Context, exc: Exception, form: dict[str, Any]
) -> Response:
    status = 422 if isinstance(exc, ValidationError) else getattr(exc, "status_code", 400)
    data = await context()
    data.update(error=_problem(request, exc), form=form)
    return page(request, template, data, status_code=status)


@router.get("/admin")
async def admin_home(principal: CanManageTeams) -> Response:
    return _redirect("/admin/inboxes" if principal.user.role == Role.ADMIN else "/admin/teams")


# ---- agents ------------------------------------------------------------------------------------------


async def _agents(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    users = await auth.list_users(session, principal.account_id)
    return {"section": "agents", "users": users, "roles": list(Role), "error": None, "form": {}}


@router.get("/admin/agents")
async def agents(request: Request, session: SessionDep, principal: CanManageUsers) -> Response:
    return page(request, "admin/agents.html", await _agents(session, principal))


@router.post("/admin/agents")
async def create_agent(
    request: Request,
    session: SessionDep,
    principal: CanManageUsers,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "agent",
    locale: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = UserCreate(email=email, name=name, password=password, role=role, locale=locale or None)
        await auth.check_create_user(session, principal.account_id, data, principal.actor)
    except (ValidationError, KefuError) as exc:
        form = {"email": email, "name": name, "role": role, "locale": locale}
        return await _form_failed(request, "admin/agents.html", lambda: _agents(session, principal), exc, form)
    return _redirect("/admin/agents")


@router.post("/admin/agents/{user_id}")
async def update_agent(
    request: Request,
    user_id: int,
    session: SessionDep,
    principal: CanManageUsers,
    role: Annotated[str | None, Form()] = None,
    active: Annotated[str | None, Form(pattern="^(0|1)$")] = None,
) -> Response:
    user = await auth.get_user(session, principal.account_id, user_id)
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = role
    if active is not None:
        changes["is_active"] = active == "1"
    try:
        if user.id == principal.user.id and (
            changes.get("is_active") is False or changes.get("role", "admin") != "admin"
        ):
            raise KefuError(t(request, "You cannot deactivate yourself or remove your own admin role."))
        await auth.do_update_user(session, user, UserUpdate(**changes), principal.actor)
    except (ValidationError, KefuError) as exc:
        return await _form_failed(request, "admin/agents.html", lambda: _agents(session, principal), exc, {})
    return _redirect("/admin/agents")


# ---- teams -------------------------------------------------------------------------------------------


async def _teams(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    users = await auth.list_users(session, principal.account_id)
    return {
        "section": "teams",
        "teams": await accounts.list_teams(session, principal.account_id),
        "users": users,
        "user_names": {u.id: u.name for u in users},
        "error": None,
        "form": {},
    }


@router.get("/admin/teams")
async def teams(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    return page(request, "admin/teams.html", await _teams(session, principal))


@router.post("/admin/teams")
async def create_team(
    request: Request,
    session: SessionDep,
    principal: CanManageTeams,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    member_ids: Annotated[list[int] | None, Form()] = None,
) -> Response:
    try:
        data = TeamCreate(name=name, description=description, member_ids=member_ids or [])
        await accounts.check_create_team(session, principal.account_id, data, principal.actor)
    except (ValidationError, KefuError) as exc:
        form = {"name": name, "description": description, "member_ids": member_ids or []}
        return await _form_failed(request, "admin/teams.html", lambda: _teams(session, principal), exc, form)
    return _redirect("/admin/teams")


@router.post("/admin/teams/{team_id}/members")
async def team_members(
    request: Request,
    team_id: int,
    session: SessionDep,
    principal: CanManageTeams,
    member_ids: Annotated[list[int] | None, Form()] = None,
) -> Response:
    try:
        data = TeamUpdate(member_ids=member_ids or [])
        await accounts.check_update_team(session, principal.account_id, team_id, data, principal.actor)
    except (ValidationError, KefuError) as exc:
        return await _form_failed(request, "admin/teams.html", lambda: _teams(session, principal), exc, {})
    return _redirect("/admin/teams")


# ---- API tokens --------------------------------------------------------------------------------------


async def _tokens(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    users = await auth.list_users(session, principal.account_id)
    return {
        "section": "tokens",
        "tokens": await auth.list_api_tokens(session, principal.account_id),
        "user_names": {u.id: u.name for u in users},
        "new_token": None,
        "error": None,
        "form": {},
    }


@router.get("/admin/tokens")
async def tokens(request: Request, session: SessionDep, principal: CanManageTokens) -> Response:
    return page(request, "admin/tokens.html", await _tokens(session, principal))


@router.post("/admin/tokens")
async def create_token(
    request: Request, session: SessionDep, principal: CanManageTokens, name: Annotated[str, Form()] = ""
) -> Response:
    try:
        data = ApiTokenCreate(name=name)
        _, token = await auth.do_create_api_token(session, principal, data.name)
    except (ValidationError, KefuError) as exc:
        return await _form_failed(
            request, "admin/tokens.html", lambda: _tokens(session, principal), exc, {"name": name}
        )
    context = await _tokens(session, principal)
    context["new_token"] = token
    response = page(request, "admin/tokens.html", context, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(token_id: int, session: SessionDep, principal: CanManageTokens) -> Response:
    await auth.do_revoke_api_token(session, principal, token_id)
    return _redirect("/admin/tokens")


# ---- business hours ----------------------------------------------------------------------------------


async def _hours(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    hours = await accounts.get_business_hours(session, principal.account_id)
    form = {"timezone": hours.timezone, "always_open": hours.always_open}
    form.update({day: format_ranges(hours.week[day]) for day in DAYS})
    return {"section": "hours", "days": DAYS, "form": form, "error": None, "saved": False}


@router.get("/admin/hours")
async def business_hours(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    context = await _hours(session, principal)
    context["saved"] = request.query_params.get("saved") == "1"
    return page(request, "admin/hours.html", context)


@router.post("/admin/hours")
async def save_business_hours(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    posted = await request.form()
    form: dict[str, Any] = {day: str(posted.get(day) or "") for day in DAYS}
    form.update(timezone=str(posted.get("timezone") or ""), always_open=posted.get("always_open") == "1")
    try:
        try:
            week = {day: parse_ranges(day, form[day]) for day in DAYS}
        except ValueError as exc:
            raise Unprocessable(t(request, "Please correct the form: %(details)s", details=str(exc))) from exc
        data = BusinessHours.model_validate(
            {"timezone": form["timezone"], "always_open": form["always_open"], "week": week}
        )
        await accounts.do_put_business_hours(session, principal.account_id, data, principal.actor)
    except (ValidationError, KefuError) as exc:
        return await _form_failed(request, "admin/hours.html", lambda: _hours(session, principal), exc, form)
    return _redirect("/admin/hours?saved=1")


# ---- outbound hosts ----------------------------------------------------------------------------------


async def _outbound(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    hosts = await accounts.get_outbound_hosts(session, principal.account_id)
    return {"section": "outbound", "hosts": hosts, "error": None, "form": {"hosts": "\n".join(hosts)}}


@router.get("/admin/outbound")
async def outbound(request: Request, session: SessionDep, principal: CanManageOutbound) -> Response:
    return page(request, "admin/outbound.html", await _outbound(session, principal))


@router.post("/admin/outbound")
async def save_outbound(
    request: Request, session: SessionDep, principal: CanManageOutbound, hosts: Annotated[str, Form()] = ""
) -> Response:
    try:
        data = OutboundHosts(hosts=[h for h in hosts.replace(",", "\n").split() if h])
        await accounts.do_set_outbound_hosts(session, principal.account_id, data.hosts, principal.actor)
    except (ValidationError, KefuError) as exc:
        form = {"hosts": hosts}
        return await _form_failed(request, "admin/outbound.html", lambda: _outbound(session, principal), exc, form)
    return _redirect("/admin/outbound")


# ---- continuity across channels (docs/customers.md#continuity) ------------------------------------------


@router.get("/admin/continuity")
async def continuity(request: Request, session: SessionDep, principal: CanManageInboxes) -> Response:
    value = await accounts.get_continuity(session, principal.account_id)
    saved = request.query_params.get("saved") == "1"
    return page(request, "admin/continuity.html", {"section": "continuity", "continuity": str(value), "saved": saved})


@router.post("/admin/continuity")
async def save_continuity(
    request: Request, session: SessionDep, principal: CanManageInboxes, continuity: Annotated[str, Form()] = ""
) -> Response:
    try:
        value = Continuity(continuity)
    except ValueError:
        raise Unprocessable(t(request, "Choose what happens when a customer changes channel.")) from None
    await accounts.do_set_continuity(session, principal.account_id, value, principal.actor)
    return _redirect("/admin/continuity?saved=1")
