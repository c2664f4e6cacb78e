"""Admin → Automation: /admin/automation (the rules in order: enable/disable, move, delete), the rule editor
(new / edit) and the run log. Thin: parse the form (automation/form.py), call kefu.automation.service,
render; a refused form is shown again with the reason and nothing is saved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.service import list_teams
from kefu.auth.deps import CanManageAutomation
from kefu.auth.principal import Principal
from kefu.auth.service import list_users
from kefu.automation import service
from kefu.automation.evaluator import FIELDS, RULE_EVENTS, Op
from kefu.automation.form import ACTION_ROWS, CONDITION_ROWS, form_of, rule_body
from kefu.automation.schemas import ActionType, RuleCreate, RuleUpdate, RunRead
from kefu.core.constants import Priority
from kefu.core.deps import SessionDep
from kefu.core.errors import KefuError
from kefu.web.rendering import PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RuleIdP = Annotated[int, Path(ge=1, le=2**63 - 1)]
RUNS_SHOWN = 100


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _problem(request: Request, exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return t(request, "Please correct the form: %(details)s", details="; ".join(parts))
    assert isinstance(exc, KefuError)
    return exc.message


async def _choices(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    users = [u for u in await list_users(session, principal.account_id) if u.is_active]
    return {
        "section": "automation",
        "events": RULE_EVENTS,
        "fields": sorted(FIELDS),
        "ops": [o.value for o in Op],
        "action_types": [a.value for a in ActionType],
        "priorities": [p.value for p in Priority],
        "teams": await list_teams(session, principal.account_id),
        "users": users,
        "condition_rows": range(CONDITION_ROWS),
        "action_rows": range(ACTION_ROWS),
    }


@router.get("/admin/automation")
async def rules(request: Request, session: SessionDep, principal: CanManageAutomation) -> Response:
    items = await service.list_rules(session, principal.account_id)
    return page(request, "automation/rules.html", {"section": "automation", "rules": items, "error": None})


@router.get("/admin/automation/runs")
async def runs(request: Request, session: SessionDep, principal: CanManageAutomation) -> Response:
    rows, _ = await service.list_runs(session, principal.account_id, rule_id=None, cursor=None, limit=RUNS_SHOWN)
    names = {r.id: r.name for r in await service.list_rules(session, principal.account_id)}
    context = {"section": "automation", "runs": [RunRead.model_validate(r) for r in rows], "names": names}
    return page(request, "automation/runs.html", context)


@router.get("/admin/automation/new")
async def new_rule(request: Request, session: SessionDep, principal: CanManageAutomation) -> Response:
    form = form_of({"event_type": "message.created", "enabled": True})
    context = {**await _choices(session, principal), "rule": None, "form": form, "error": None}
    return page(request, "automation/rule.html", context)


@router.post("/admin/automation/new")
async def create_rule(request: Request, session: SessionDep, principal: CanManageAutomation) -> Response:
    body = rule_body({k: str(v) for k, v in (await request.form()).items()})
    try:
        await service.check_create_rule(session, principal.account_id, RuleCreate.model_validate(body))
    except (ValidationError, KefuError) as exc:
        context = {**await _choices(session, principal), "rule": None, "form": form_of(body)}
        context["error"] = _problem(request, exc)
        status = exc.status_code if isinstance(exc, KefuError) else 422
        return page(request, "automation/rule.html", context, status_code=status)
    return _redirect("/admin/automation?saved=1")


@router.get("/admin/automation/{rule_id}")
async def edit_rule(
    request: Request, rule_id: RuleIdP, session: SessionDep, principal: CanManageAutomation
) -> Response:
    rule = await service.get_rule(session, principal.account_id, rule_id)
    body = {
        "name": rule.name,
        "event_type": rule.event_type,
        "match": rule.match,
        "conditions": rule.conditions,
        "actions": rule.actions,
        "enabled": rule.enabled,
    }
    context = {**await _choices(session, principal), "rule": rule, "form": form_of(body), "error": None}
    return page(request, "automation/rule.html", context)


@router.post("/admin/automation/{rule_id}")
async def update_rule(
    request: Request, rule_id: RuleIdP, session: SessionDep, principal: CanManageAutomation
) -> Response:
    rule = await service.get_rule(session, principal.account_id, rule_id)
    body = rule_body({k: str(v) for k, v in (await request.form()).items()})
    try:
        await service.check_update_rule(session, principal.account_id, rule_id, RuleUpdate.model_validate(body))
    except (ValidationError, KefuError) as exc:
        context = {**await _choices(session, principal), "rule": rule, "form": form_of(body)}
        context["error"] = _problem(request, exc)
        status = exc.status_code if isinstance(exc, KefuError) else 422
        return page(request, "automation/rule.html", context, status_code=status)
    return _redirect("/admin/automation?saved=1")


@router.post("/admin/automation/{rule_id}/enabled")
async def set_enabled(
    rule_id: RuleIdP, session: SessionDep, principal: CanManageAutomation, enabled: Annotated[str, Form()] = ""
) -> Response:
    await service.do_set_enabled(session, principal.account_id, rule_id, enabled == "on")
    return _redirect("/admin/automation")


@router.post("/admin/automation/{rule_id}/move")
async def move(
    rule_id: RuleIdP, session: SessionDep, principal: CanManageAutomation, step: Annotated[str, Form()] = "down"
) -> Response:
    await service.do_move_rule(session, principal.account_id, rule_id, -1 if step == "up" else 1)
    return _redirect("/admin/automation")


@router.post("/admin/automation/{rule_id}/delete")
async def delete(rule_id: RuleIdP, session: SessionDep, principal: CanManageAutomation) -> Response:
    await service.do_delete_rule(session, principal.account_id, rule_id)
    return _redirect("/admin/automation")
