"""/admin/sla — SLA policies (the priority × tier matrix) and business calendars (weekly hours, holidays,
make-up working days, iCal upload). Admins and supervisors (CanManageTeams). Forms post back with the
session's CSRF token and redirect after success; a refused form is shown again with the reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.hours import DAYS, OpenRange, format_ranges, parse_ranges
from kefu.auth.deps import CanManageTeams
from kefu.auth.principal import Principal
from kefu.core.constants import Priority
from kefu.core.deps import SessionDep
from kefu.core.errors import KefuError
from kefu.sla import service
from kefu.sla.models import DayKind, PolicyTier
from kefu.sla.schemas import CalendarCreate, CalendarDayCreate, CalendarUpdate, PolicyCreate, PolicyUpdate
from kefu.web.rendering import PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _problem(request: Request, exc: Exception) -> tuple[str, int]:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return t(request, "Please correct the form: %(details)s", details="; ".join(parts)), 422
    assert isinstance(exc, KefuError)
    return exc.message, exc.status_code


@router.get("/admin/sla")
async def sla_home(principal: CanManageTeams) -> Response:
    return _redirect("/admin/sla/policies")


# ---- policies ----------------------------------------------------------------------------------------


async def _policies(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    stored = await service.list_policies(session, principal.account_id)
    cells = {(p.priority, p.tier): p for p in await service.read_matrix(session, principal.account_id)}
    return {
        "section": "sla",
        "priorities": list(Priority),
        "tiers": list(PolicyTier),
        "cells": cells,
        "stored": {(p.priority, p.tier): p for p in stored},
        "calendars": await service.list_calendars(session, principal.account_id),
        "error": None,
        "form": {},
    }


@router.get("/admin/sla/policies")
async def policies(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    return page(request, "sla/policies.html", await _policies(session, principal))


@router.post("/admin/sla/policies")
async def save_policy(
    request: Request,
    session: SessionDep,
    principal: CanManageTeams,
    priority: Annotated[str, Form()] = "",
    tier: Annotated[str, Form()] = "any",
    first_response_min: Annotated[str, Form()] = "",
    next_response_min: Annotated[str, Form()] = "",
    resolution_min: Annotated[str, Form()] = "",
    warn_percent: Annotated[str, Form()] = "80",
    calendar_id: Annotated[str, Form()] = "",
) -> Response:
    """Set one cell of the matrix: create its policy, or change the stored one."""
    form = {
        "priority": priority, "tier": tier, "first_response_min": first_response_min,
        "next_response_min": next_response_min, "resolution_min": resolution_min, "warn_percent": warn_percent,
        "calendar_id": calendar_id,
    }  # fmt: skip
    try:
        values = {
            "first_response_min": _int(first_response_min),
            "next_response_min": _int(next_response_min),
            "resolution_min": _int(resolution_min),
            "warn_fraction": _float(warn_percent) / 100,
            "calendar_id": _int(calendar_id) if calendar_id else None,
        }
        existing = {(p.priority, p.tier): p for p in await service.list_policies(session, principal.account_id)}
        current = existing.get((priority, tier))
        if current is None:
            await service.check_create_policy(
                session,
                principal.account_id,
                PolicyCreate.model_validate({"priority": priority, "tier": tier, **values}),
            )
        else:
            data = PolicyUpdate.model_validate(values)
            await service.check_update_policy(session, principal.account_id, current.id, data)
    except (ValidationError, KefuError) as exc:
        context = await _policies(session, principal)
        message, status = _problem(request, exc)
        context.update(error=message, form=form)
        return page(request, "sla/policies.html", context, status_code=status)
    return _redirect("/admin/sla/policies")


def _int(text: str) -> Any:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else text  # not a number: the schema says so


def _float(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        return -1.0  # refused by the schema (must be between 0 and 1)


@router.post("/admin/sla/policies/{policy_id}/delete")
async def delete_policy(policy_id: int, session: SessionDep, principal: CanManageTeams) -> Response:
    await service.check_delete_policy(session, principal.account_id, policy_id)
    return _redirect("/admin/sla/policies")


# ---- calendars ---------------------------------------------------------------------------------------


async def _calendars(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    return {
        "section": "sla",
        "calendars": await service.list_calendars(session, principal.account_id),
        "days": DAYS,
        "error": None,
        "form": {"timezone": "Asia/Shanghai", **{d: "09:00-18:00" for d in DAYS[:5]}},
    }


@router.get("/admin/sla/calendars")
async def calendars(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    return page(request, "sla/calendars.html", await _calendars(session, principal))


@router.post("/admin/sla/calendars")
async def create_calendar(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k) or "") for k in ("name", "timezone", *DAYS)}
    try:
        week = {d: parse_ranges(d, form[d]) for d in DAYS}
        data = CalendarCreate.model_validate({"name": form["name"], "timezone": form["timezone"], "week": week})
        cal = await service.check_create_calendar(session, principal.account_id, data)
    except (ValidationError, KefuError) as exc:
        return await _calendars_failed(request, session, principal, exc, form)
    except ValueError as exc:  # a range parse_ranges cannot read
        return await _calendars_failed(request, session, principal, KefuError(str(exc)), form)
    return _redirect(f"/admin/sla/calendars/{cal.id}")


async def _calendars_failed(
    request: Request, session: AsyncSession, principal: Principal, exc: Exception, form: dict[str, str]
) -> Response:
    context = await _calendars(session, principal)
    message, status = _problem(request, exc)
    context.update(error=message, form=form)
    return page(request, "sla/calendars.html", context, status_code=status)


async def _calendar(session: AsyncSession, principal: Principal, calendar_id: int) -> dict[str, Any]:
    cal = await service.get_calendar(session, principal.account_id, calendar_id)
    week = {d: format_ranges([OpenRange.model_validate(r) for r in cal.week.get(d, [])]) for d in DAYS}
    return {
        "section": "sla",
        "calendar": cal,
        "edit": {"name": cal.name, "timezone": cal.timezone, **week},
        "days": DAYS,
        "entries": await service.list_days(session, cal.id),
        "kinds": list(DayKind),
        "error": None,
        "imported": None,
        "form": {},
    }


@router.get("/admin/sla/calendars/{calendar_id}")
async def calendar_detail(
    request: Request, calendar_id: int, session: SessionDep, principal: CanManageTeams, imported: int | None = None
) -> Response:
    context = await _calendar(session, principal, calendar_id)
    context["imported"] = imported
    return page(request, "sla/calendar.html", context)


@router.post("/admin/sla/calendars/{calendar_id}")
async def update_calendar(
    request: Request, calendar_id: int, session: SessionDep, principal: CanManageTeams
) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k) or "") for k in ("name", "timezone", *DAYS)}
    try:
        week = {d: parse_ranges(d, form[d]) for d in DAYS}
        data = CalendarUpdate.model_validate({"name": form["name"], "timezone": form["timezone"], "week": week})
        await service.check_update_calendar(session, principal.account_id, calendar_id, data)
    except (ValidationError, KefuError) as exc:
        return await _calendar_failed(request, session, principal, calendar_id, exc, {}, edit=form)
    except ValueError as exc:
        return await _calendar_failed(request, session, principal, calendar_id, KefuError(str(exc)), {}, edit=form)
    return _redirect(f"/admin/sla/calendars/{calendar_id}")


async def _calendar_failed(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    calendar_id: int,
    exc: Exception,
    form: dict[str, Any],
    *,
    edit: dict[str, str] | None = None,
) -> Response:
    context = await _calendar(session, principal, calendar_id)
    message, status = _problem(request, exc)
    context.update(error=message, form=form)
    if edit is not None:
        context["edit"] = edit
    return page(request, "sla/calendar.html", context, status_code=status)


@router.post("/admin/sla/calendars/{calendar_id}/days")
async def add_day(
    request: Request,
    calendar_id: int,
    session: SessionDep,
    principal: CanManageTeams,
    day: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "holiday",
    name: Annotated[str, Form()] = "",
    hours: Annotated[str, Form()] = "",
) -> Response:
    form = {"day": day, "kind": kind, "name": name, "hours": hours}
    try:
        ranges = parse_ranges(day or "day", hours)
        data = CalendarDayCreate.model_validate({"day": day, "kind": kind, "name": name, "hours": ranges})
        await service.check_add_day(session, principal.account_id, calendar_id, data)
    except ValidationError as exc:
        return await _calendar_failed(request, session, principal, calendar_id, exc, form)
    except ValueError as exc:
        return await _calendar_failed(request, session, principal, calendar_id, KefuError(str(exc)), form)
    except KefuError as exc:
        return await _calendar_failed(request, session, principal, calendar_id, exc, form)
    return _redirect(f"/admin/sla/calendars/{calendar_id}")


@router.post("/admin/sla/calendars/{calendar_id}/days/{day_id}/delete")
async def delete_day(calendar_id: int, day_id: int, session: SessionDep, principal: CanManageTeams) -> Response:
    await service.check_delete_day(session, principal.account_id, calendar_id, day_id)
    return _redirect(f"/admin/sla/calendars/{calendar_id}")


@router.post("/admin/sla/calendars/{calendar_id}/import")
async def import_ical(
    request: Request, calendar_id: int, session: SessionDep, principal: CanManageTeams, file: UploadFile
) -> Response:
    try:
        result = await service.check_import_ical(session, principal.account_id, calendar_id, await file.read())
    except KefuError as exc:
        return await _calendar_failed(request, session, principal, calendar_id, exc, {})
    finally:
        await file.close()
    return _redirect(f"/admin/sla/calendars/{calendar_id}?imported={result.added}")


@router.post("/admin/sla/calendars/{calendar_id}/delete")
async def delete_calendar(
    request: Request, calendar_id: int, session: SessionDep, principal: CanManageTeams
) -> Response:
    try:
        await service.check_delete_calendar(session, principal.account_id, calendar_id)
    except KefuError as exc:
        if exc.status_code == 404:
            raise
        return await _calendar_failed(request, session, principal, calendar_id, exc, {})
    return _redirect("/admin/sla/calendars")
