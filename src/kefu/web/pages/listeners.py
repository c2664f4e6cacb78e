"""/admin/listeners — Admin → Event listeners: each durable listener's cursor and lag, and this account's
dead letters with "Retry" and "Dismiss" (admins only; others get the 403 page). See core/listeners.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.deps import CanManageListeners
from kefu.auth.principal import Principal
from kefu.core import listeners_admin as service
from kefu.core.deps import SessionDep
from kefu.core.errors import KefuError
from kefu.core.listeners_admin import DeadLetterRead
from kefu.web.rendering import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/admin/listeners")
async def listeners(request: Request, session: SessionDep, principal: CanManageListeners) -> Response:
    overview = await service.get_overview(session, principal.account_id)
    context = {"section": "listeners", "overview": overview, "error": None, "done": request.query_params.get("done")}
    return page(request, "admin/listeners.html", context)


@router.post("/admin/listeners/dead-letters/{letter_id}/retry")
async def retry(request: Request, letter_id: int, session: SessionDep, principal: CanManageListeners) -> Response:
    return await _act(
        request, session, principal, lambda: service.do_retry_dead_letter(session, principal.account_id, letter_id)
    )


@router.post("/admin/listeners/dead-letters/{letter_id}/dismiss")
async def dismiss(request: Request, letter_id: int, session: SessionDep, principal: CanManageListeners) -> Response:
    return await _act(
        request, session, principal, lambda: service.do_dismiss_dead_letter(session, principal.account_id, letter_id)
    )


async def _act(
    request: Request, session: AsyncSession, principal: Principal, action: Callable[[], Awaitable[DeadLetterRead]]
) -> Response:
    """Run the action; back to the page (POST/redirect/GET), or the page again with the reason it failed."""
    try:
        letter = await action()
    except KefuError as exc:
        overview = await service.get_overview(session, principal.account_id)
        context = {"section": "listeners", "overview": overview, "error": exc.message, "done": None}
        return page(request, "admin/listeners.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/admin/listeners?done={letter.status}", status_code=303)
