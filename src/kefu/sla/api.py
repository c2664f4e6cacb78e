"""/api/v1/sla — policies and business calendars (admins and supervisors), and the SLA clocks of a
conversation (docs/api.md "SLA", docs/sla.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from kefu.auth.deps import CanHandle, CanManageTeams
from kefu.conversations import service as convs
from kefu.core import clock
from kefu.core.deps import SessionDep
from kefu.core.errors import BadRequest
from kefu.core.openapi import errors
from kefu.core.schemas import Id
from kefu.sla import service
from kefu.sla.clocks import read_subject
from kefu.sla.conversations import subject
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
    SubjectSla,
)

router = APIRouter(prefix="/api/v1", tags=["sla"])
ICAL_TYPES = ("text/calendar", "text/plain", "application/octet-stream")


@router.get("/sla/policies", response_model=list[PolicyRead])
async def list_policies(session: SessionDep, principal: CanManageTeams) -> list[PolicyRead]:
    """Every priority × tier cell that applies: the stored policies, and for the tier "any" of a priority
    without one the built-in default (`id` null)."""
    return await service.read_matrix(session, principal.account_id)


@router.post("/sla/policies", response_model=PolicyRead, status_code=201, responses=errors(409, 422))
async def create_policy(data: PolicyCreate, session: SessionDep, principal: CanManageTeams) -> PolicyRead:
    policy = await service.check_create_policy(session, principal.account_id, data)
    return PolicyRead.model_validate(policy)


@router.get("/sla/policies/{policy_id}", response_model=PolicyRead)
async def get_policy(policy_id: Id, session: SessionDep, principal: CanManageTeams) -> PolicyRead:
    return PolicyRead.model_validate(await service.get_policy(session, principal.account_id, policy_id))


@router.patch("/sla/policies/{policy_id}", response_model=PolicyRead, responses=errors(422))
async def update_policy(
    policy_id: Id, data: PolicyUpdate, session: SessionDep, principal: CanManageTeams
) -> PolicyRead:
    policy = await service.check_update_policy(session, principal.account_id, policy_id, data)
    return PolicyRead.model_validate(policy)


@router.delete("/sla/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: Id, session: SessionDep, principal: CanManageTeams) -> Response:
    """Remove a policy: its cell falls back to the tier "any", then to the built-in default."""
    await service.check_delete_policy(session, principal.account_id, policy_id)
    return Response(status_code=204)


@router.get("/sla/calendars", response_model=list[CalendarRead])
async def list_calendars(session: SessionDep, principal: CanManageTeams) -> list[CalendarRead]:
    return [
        await service.read_calendar(session, c) for c in await service.list_calendars(session, principal.account_id)
    ]


@router.post("/sla/calendars", response_model=CalendarRead, status_code=201, responses=errors(409))
async def create_calendar(data: CalendarCreate, session: SessionDep, principal: CanManageTeams) -> CalendarRead:
    cal = await service.check_create_calendar(session, principal.account_id, data)
    return await service.read_calendar(session, cal)


@router.get("/sla/calendars/{calendar_id}", response_model=CalendarRead)
async def get_calendar(calendar_id: Id, session: SessionDep, principal: CanManageTeams) -> CalendarRead:
    return await service.read_calendar(session, await service.get_calendar(session, principal.account_id, calendar_id))


@router.patch("/sla/calendars/{calendar_id}", response_model=CalendarRead, responses=errors(409))
async def update_calendar(
    calendar_id: Id, data: CalendarUpdate, session: SessionDep, principal: CanManageTeams
) -> CalendarRead:
    cal = await service.check_update_calendar(session, principal.account_id, calendar_id, data)
    return await service.read_calendar(session, cal)


@router.delete("/sla/calendars/{calendar_id}", status_code=204, responses=errors(409))
async def delete_calendar(calendar_id: Id, session: SessionDep, principal: CanManageTeams) -> Response:
    """Delete a calendar and its days; 409 while a policy uses it."""
    await service.check_delete_calendar(session, principal.account_id, calendar_id)
    return Response(status_code=204)


@router.post(
    "/sla/calendars/{calendar_id}/days", response_model=CalendarDayRead, status_code=201, responses=errors(409, 422)
)
async def add_day(
    calendar_id: Id, data: CalendarDayCreate, session: SessionDep, principal: CanManageTeams
) -> CalendarDayRead:
    """A holiday (closed all day) or a make-up working day (调休; its own hours, or the weekday hours)."""
    day = await service.check_add_day(session, principal.account_id, calendar_id, data)
    return CalendarDayRead.model_validate(day)


@router.delete("/sla/calendars/{calendar_id}/days/{day_id}", status_code=204)
async def delete_day(calendar_id: Id, day_id: Id, session: SessionDep, principal: CanManageTeams) -> Response:
    await service.check_delete_day(session, principal.account_id, calendar_id, day_id)
    return Response(status_code=204)


_ICAL_DOC: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"text/calendar": {"schema": {"type": "string"}}}}
}


@router.post(
    "/sla/calendars/{calendar_id}/import",
    response_model=CalendarImported,
    openapi_extra=_ICAL_DOC,
    responses=errors(400, 413, 422),
)
async def import_ical(
    calendar_id: Id, request: Request, session: SessionDep, principal: CanManageTeams
) -> CalendarImported:
    """Holidays and make-up working days from an iCalendar file (a `text/calendar` body). How events are
    classified: docs/sla.md "Importing iCal". All or nothing: malformed, contradicting itself or a stored
    day → 422 saying what is wrong, nothing saved."""
    await service.get_calendar(session, principal.account_id, calendar_id)  # 404 before reading the body
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ICAL_TYPES:
        raise BadRequest("send the iCalendar file as a text/calendar body")
    body = await request.body()
    if not body.strip():
        raise BadRequest("the request body is empty; send an iCalendar file")
    return await service.check_import_ical(session, principal.account_id, calendar_id, body)


@router.get("/conversations/{conv_id}/sla", response_model=SubjectSla)
async def conversation_sla(conv_id: Id, session: SessionDep, principal: CanHandle) -> SubjectSla:
    """The conversation's SLA clocks (first response, next response, resolution) with their state and the
    business time left, and `sla_due_at`, the nearest deadline of a running clock."""
    conv = await convs.get_conversation(session, principal.account_id, conv_id)
    return await read_subject(session, principal.account_id, subject(conv), due=conv.sla_due_at, now=clock.now())
