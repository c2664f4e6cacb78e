"""Routing UI (thin; docs/routing.md): the supervisor's live queue (/app/queue: polled every few seconds,
reassign by button or by dragging a conversation onto an agent), the agent's presence control in the
workspace (/app/presence), and Admin → Routing (/admin/routing: skills, requirements, agents' skills and
capacity, settings)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.service import list_teams
from kefu.auth.deps import CanHandle, CanManageTeams
from kefu.auth.principal import Principal
from kefu.channels.service import list_inboxes
from kefu.conversations.service import do_assign
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import BadRequest, KefuError
from kefu.routing import queue, service
from kefu.routing.listeners import ASSIGN_JOB
from kefu.routing.policies import Presence
from kefu.routing.schemas import AgentUpdate, RequirementCreate, RoutingSettings, SkillCreate
from kefu.web.rendering import PageRoute, page, t

router = APIRouter(route_class=PageRoute, include_in_schema=False)


# ---- the live queue -------------------------------------------------------------------------------------


@router.get("/app/queue")
async def queue_page(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    return page(request, "routing/queue.html", {"q": await queue.get_queue(session, principal.account_id)})


@router.get("/app/queue/body")
async def queue_body(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    return page(request, "routing/_queue_body.html", {"q": await queue.get_queue(session, principal.account_id)})


@router.post("/app/queue/{conv_id}/reassign")
async def queue_reassign(
    request: Request, conv_id: int, session: SessionDep, principal: CanManageTeams, user_id: Annotated[str, Form()] = ""
) -> Response:
    if not user_id.isdigit():
        raise BadRequest(t(request, "Choose an agent."))
    await do_assign(session, principal.account_id, conv_id, int(user_id), principal.actor)
    return page(request, "routing/_queue_body.html", {"q": await queue.get_queue(session, principal.account_id)})


@router.post("/app/queue/assign")
async def queue_assign_now(
    request: Request, session: SessionDep, state: StateDep, principal: CanManageTeams
) -> Response:
    await state.jobs.enqueue(ASSIGN_JOB, account_id=principal.account_id, force=True)
    return page(request, "routing/_queue_body.html", {"q": await queue.get_queue(session, principal.account_id)})


# ---- presence -------------------------------------------------------------------------------------------


@router.post("/app/presence")
async def set_presence(
    request: Request, session: SessionDep, principal: CanHandle, presence: Annotated[str, Form()] = ""
) -> Response:
    try:
        value = Presence(presence)
    except ValueError:
        raise BadRequest(t(request, "Choose online, busy or away.")) from None
    await service.do_set_presence(session, principal.account_id, principal.user.id, value, principal.actor)
    return page(request, "routing/_presence.html", {"my_presence": str(value)})


# ---- Admin → Routing ------------------------------------------------------------------------------------


async def _admin_context(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    account_id = principal.account_id
    teams = await list_teams(session, account_id)
    return {
        "section": "routing",
        "team_names": {str(team.id): team.name for team in teams},
        "skills": await service.list_skills(session, account_id),
        "requirements": await service.list_requirements(session, account_id),
        "agents": await service.list_agents(session, account_id),
        "teams": teams,
        "inboxes": await list_inboxes(session, account_id),
        "settings": await service.get_settings(session, account_id),
        "error": None,
    }


@router.get("/admin/routing")
async def admin_routing(request: Request, session: SessionDep, principal: CanManageTeams) -> Response:
    context = await _admin_context(session, principal)
    context["done"] = request.query_params.get("done") == "1"
    return page(request, "admin/routing.html", context)


async def _admin_act(request: Request, session: AsyncSession, principal: Principal, action: Any) -> Response:
    """Run the change; back to the page (POST/redirect/GET) or the page again with what is wrong. The services
    check before they write and commit once, so a refused change has written nothing (the request's session
    is closed without a commit)."""
    try:
        await action()
    except ValidationError as exc:
        return await _admin_error(request, session, principal, _first_error(request, exc), 422)
    except KefuError as exc:
        return await _admin_error(request, session, principal, exc.message, exc.status_code)
    return RedirectResponse("/admin/routing?done=1", status_code=303)


async def _admin_error(
    request: Request, session: AsyncSession, principal: Principal, message: str, code: int
) -> Response:
    context = await _admin_context(session, principal)
    context.update(error=message, done=False)
    return page(request, "admin/routing.html", context, status_code=code)


def _first_error(request: Request, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return t(request, "%(field)s: %(error)s", field=where, error=err["msg"])


@router.post("/admin/routing/skills")
async def admin_add_skill(
    request: Request,
    session: SessionDep,
    principal: CanManageTeams,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    async def act() -> None:
        await service.check_create_skill(session, principal.account_id, SkillCreate(name=name, description=description))

    return await _admin_act(request, session, principal, act)


@router.post("/admin/routing/skills/{skill_id}/delete")
async def admin_delete_skill(
    request: Request, skill_id: int, session: SessionDep, principal: CanManageTeams
) -> Response:
    return await _admin_act(
        request, session, principal, lambda: service.do_delete_skill(session, principal.account_id, skill_id)
    )


@router.post("/admin/routing/requirements")
async def admin_add_requirement(
    request: Request,
    session: SessionDep,
    principal: CanManageTeams,
    kind: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    skill: Annotated[str, Form()] = "",
) -> Response:
    async def act() -> None:
        data = RequirementCreate.model_validate({"kind": kind, "value": value, "skill": skill})
        await service.check_create_requirement(session, principal.account_id, data)

    return await _admin_act(request, session, principal, act)


@router.post("/admin/routing/requirements/{requirement_id}/delete")
async def admin_delete_requirement(
    request: Request, requirement_id: int, session: SessionDep, principal: CanManageTeams
) -> Response:
    return await _admin_act(
        request,
        session,
        principal,
        lambda: service.do_delete_requirement(session, principal.account_id, requirement_id),
    )


def parse_levels(text: str, default: int | str = 3) -> dict[str, int | str]:
    """`billing:4, refunds:3` → {"billing": 4, "refunds": 3}. A name without a number gets `default`; a value
    that is not a number stays text, so validation names it."""
    levels: dict[str, int | str] = {}
    for part in text.replace("，", ",").replace("：", ":").split(","):
        name, sep, level = part.strip().partition(":")
        if name.strip():
            value = level.strip()
            levels[name.strip()] = int(value) if value.lstrip("-").isdigit() else (value if sep else default)
    return levels


@router.post("/admin/routing/agents/{user_id}")
async def admin_update_agent(
    request: Request,
    user_id: int,
    session: SessionDep,
    principal: CanManageTeams,
    capacity: Annotated[str, Form()] = "",
    skills: Annotated[str, Form()] = "",
    channel_capacity: Annotated[str, Form()] = "",
) -> Response:
    async def act() -> None:
        data = AgentUpdate.model_validate(
            {
                "capacity": int(capacity) if capacity.strip().isdigit() else capacity,
                "skills": parse_levels(skills),
                "channel_capacity": parse_levels(channel_capacity, default=""),
            }
        )
        await service.check_update_agent(session, principal.account_id, user_id, data)

    return await _admin_act(request, session, principal, act)


@router.post("/admin/routing/settings")
async def admin_settings(
    request: Request,
    session: SessionDep,
    principal: CanManageTeams,
    auto_assign: Annotated[bool, Form()] = False,
    sticky: Annotated[bool, Form()] = False,
    default_capacity: Annotated[str, Form()] = "5",
    overflow_from: Annotated[str, Form()] = "",
    overflow_to: Annotated[str, Form()] = "",
    overflow_after_s: Annotated[str, Form()] = "",
) -> Response:
    async def act() -> None:
        current = await service.get_settings(session, principal.account_id)
        overflow = {k: v.model_dump() for k, v in current.overflow.items()}
        if overflow_from:
            if not overflow_to or not overflow_after_s.strip().isdigit():
                raise BadRequest(t(request, "An overflow rule needs a team to overflow to and a wait in seconds."))
            overflow[overflow_from] = {"after_s": int(overflow_after_s), "team_id": overflow_to}
        data = RoutingSettings.model_validate(
            {"auto_assign": auto_assign, "sticky": sticky, "default_capacity": default_capacity, "overflow": overflow}
        )
        await service.check_update_settings(session, principal.account_id, data)

    return await _admin_act(request, session, principal, act)


@router.post("/admin/routing/overflow/{team_id}/delete")
async def admin_delete_overflow(
    request: Request, team_id: int, session: SessionDep, principal: CanManageTeams
) -> Response:
    async def act() -> None:
        current = await service.get_settings(session, principal.account_id)
        current.overflow.pop(str(team_id), None)
        await service.check_update_settings(session, principal.account_id, current)

    return await _admin_act(request, session, principal, act)
