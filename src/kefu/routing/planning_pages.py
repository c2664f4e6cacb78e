"""/admin/routing/priority (the urgency × importance matrix and its rules) and /app/staffing (Erlang C
staffing from the account's history, as a table and an SVG chart). Supervisors and admins. Thin: reads and
writes go through kefu.routing.priority_service and staffing_service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.deps import CanManageTeams
from kefu.core.constants import ContactTier, Priority
from kefu.core.deps import SessionDep
from kefu.core.errors import KefuError
from kefu.routing import priority_service, staffing_chart, staffing_service
from kefu.routing.priority_config import SEGMENTS, PriorityConfig
from kefu.routing.staffing import Targets
from kefu.web.rendering import PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CELLS = ("urgent_important", "urgent", "important", "routine")


def _problem(request: Request, exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return t(request, "Please correct the form: %(details)s", details="; ".join(parts))
    return getattr(exc, "message", str(exc))


async def _priority_context(session: AsyncSession, account_id: int, view: dict[str, Any]) -> dict[str, Any]:
    """`view`: the configuration as JSON — the stored one, or what was typed into a refused form."""
    return {
        "section": "priority",
        "view": view,
        "cells": CELLS,
        "priorities": [p.value for p in Priority],
        "tiers": [tier.value for tier in ContactTier],
        "segments": SEGMENTS,
        "intents": await priority_service.intent_names(session, account_id),
        "error": None,
        "saved": False,
    }


@router.get("/admin/routing/priority")
async def priority_page(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    config = await priority_service.get_priority_config(session, principal.account_id)
    context = await _priority_context(session, principal.account_id, config.model_dump(mode="json"))
    context["saved"] = request.query_params.get("saved") == "1"
    return page(request, "routing/priority.html", context)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@router.post("/admin/routing/priority")
async def save_priority(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    form = await request.form()
    threshold = str(form.get("value_threshold") or "").strip()
    raw: dict[str, Any] = {
        "matrix": {cell: str(form.get(cell) or "") for cell in CELLS},
        "urgency": {
            "keywords": _lines(str(form.get("keywords") or "")),
            "intents": [str(v) for v in form.getlist("intents")],
            "anger": form.get("anger") == "1",
            "urgency": form.get("urgency") == "1",
        },
        "importance": {
            "tiers": [str(v) for v in form.getlist("tiers")],
            "segments": [str(v) for v in form.getlist("segments")],
            "value_attribute": str(form.get("value_attribute") or "").strip(),
            "value_threshold": threshold or None,
        },
    }
    try:
        config = PriorityConfig.model_validate(raw)
        await priority_service.check_put_priority_config(session, principal.account_id, config, principal.actor)
    except (ValidationError, KefuError) as exc:
        status = 422 if isinstance(exc, ValidationError) else exc.status_code
        context = await _priority_context(session, principal.account_id, raw)
        context["error"] = _problem(request, exc)
        return page(request, "routing/priority.html", context, status_code=status)
    return RedirectResponse("/admin/routing/priority?saved=1", status_code=303)


# ---- staffing -----------------------------------------------------------------------------------------


def _float(raw: str | None, default: float) -> float:
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError:
        return float("nan")


@router.get("/app/staffing")
async def staffing_page(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    q = request.query_params
    form = {
        "target_sl": _float(q.get("target_sl"), 80.0),  # percent on the page
        "target_s": _float(q.get("target_s"), 20.0),
        "aht_s": _float(q.get("aht_s"), 300.0),
        "weeks": _float(q.get("weeks"), 4.0),
        "max_occupancy": _float(q.get("max_occupancy"), 100.0),  # percent on the page
    }
    context: dict[str, Any] = {"form": form, "plan": None, "chart": None, "error": None}
    try:
        weeks = form["weeks"]
        if weeks != weeks or weeks != int(weeks):
            raise ValueError(f"weeks of history must be a whole number, not {q.get('weeks')}")
        targets = Targets(form["target_sl"] / 100, form["target_s"], form["aht_s"], form["max_occupancy"] / 100)
        plan = await staffing_service.plan_of(session, principal.account_id, targets, int(weeks))
    except (ValueError, KefuError) as exc:
        context["error"] = getattr(exc, "message", str(exc))
        return page(request, "routing/staffing.html", context, status_code=422)
    days = [
        t(request, "Mon"),
        t(request, "Tue"),
        t(request, "Wed"),
        t(request, "Thu"),
        t(request, "Fri"),
        t(request, "Sat"),
        t(request, "Sun"),
    ]
    context.update(
        plan=plan,
        days=days,
        chart=staffing_chart.svg(
            plan,
            days,
            t(request, "Agents needed per hour of the week"),
            t(request, "Agents needed"),
            t(request, "Forecast contacts"),
        ),
    )
    return page(request, "routing/staffing.html", context)
