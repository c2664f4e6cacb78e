"""/api/v1/listeners — the durable event listeners and this account's dead letters (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.auth.deps import CanManageListeners
from kefu.core import listeners_admin as service
from kefu.core.deps import SessionDep
from kefu.core.listeners_admin import DeadLetterRead, ListenersOverview
from kefu.core.schemas import Id

router = APIRouter(prefix="/api/v1/listeners", tags=["system"])


@router.get("", response_model=ListenersOverview)
async def list_listeners(session: SessionDep, principal: CanManageListeners) -> ListenersOverview:
    """Each listener's cursor and lag (this account's events it has not handled yet), and this account's
    pending (being retried) and dead (given up) letters, newest first."""
    return await service.get_overview(session, principal.account_id)


@router.post("/dead-letters/{letter_id}/retry", response_model=DeadLetterRead)
async def retry_dead_letter(letter_id: Id, session: SessionDep, principal: CanManageListeners) -> DeadLetterRead:
    """Run the listener on the dead letter's event again now: `resolved` on success; on failure it stays
    `dead` with one more attempt and the new error. 409 when it is not dead or its listener is gone."""
    return await service.do_retry_dead_letter(session, principal.account_id, letter_id)


@router.post("/dead-letters/{letter_id}/dismiss", response_model=DeadLetterRead)
async def dismiss_dead_letter(letter_id: Id, session: SessionDep, principal: CanManageListeners) -> DeadLetterRead:
    """Mark a dead letter resolved without handling its event. 409 when it is not dead."""
    return await service.do_dismiss_dead_letter(session, principal.account_id, letter_id)
