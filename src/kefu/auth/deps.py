"""FastAPI dependencies for who is asking: the principal (session cookie + CSRF, or a bearer API token)
and the `Can*` permission aliases. core/deps.py holds the plumbing ones (session, state, settings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.permissions import Perm
from kefu.auth.principal import Principal
from kefu.core.deps import SAFE_METHODS, SessionDep
from kefu.core.errors import CsrfFailed, Unauthorized

SESSION_COOKIE = "kefu_session"
CSRF_HEADER = "X-CSRF-Token"


async def resolve_principal(request: Request, session: AsyncSession) -> Principal | None:
    from kefu.auth.service import get_principal_by_api_token, get_principal_by_session

    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return await get_principal_by_api_token(session, auth[7:].strip())
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await get_principal_by_session(session, token, request.app.state.kefu.settings.session_idle_s)


async def get_principal(request: Request, session: SessionDep) -> Principal:
    principal = await resolve_principal(request, session)
    if principal is None:
        raise Unauthorized("log in or send an API token (Authorization: Bearer …)")
    if principal.via == "session" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            form_ct = request.headers.get("content-type", "")
            if form_ct.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                sent = (await request.form()).get("csrf_token")  # type: ignore[assignment]
        if not sent or sent != principal.csrf_token:
            raise CsrfFailed("missing or wrong CSRF token (send the X-CSRF-Token header)")
    # Release the auth read transaction so later writes start fresh.
    await session.commit()
    request.state.principal = principal  # pages render the menu and locale of whoever is asking
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(perm: Perm) -> Callable[..., Any]:
    async def dep(principal: PrincipalDep) -> Principal:
        principal.require(perm)
        return principal

    return dep


CanHandle = Annotated[Principal, Depends(require(Perm.HANDLE_CONVERSATIONS))]
CanManageContacts = Annotated[Principal, Depends(require(Perm.MANAGE_CONTACTS))]
CanViewTeam = Annotated[Principal, Depends(require(Perm.VIEW_TEAM))]
CanViewEvents = Annotated[Principal, Depends(require(Perm.VIEW_EVENTS))]
CanManageTeams = Annotated[Principal, Depends(require(Perm.MANAGE_TEAMS))]
CanManageInboxes = Annotated[Principal, Depends(require(Perm.MANAGE_INBOXES))]
CanManageUsers = Annotated[Principal, Depends(require(Perm.MANAGE_USERS))]
CanManageTokens = Annotated[Principal, Depends(require(Perm.MANAGE_TOKENS))]
CanManageKnowledge = Annotated[Principal, Depends(require(Perm.MANAGE_KNOWLEDGE))]
CanManageBot = Annotated[Principal, Depends(require(Perm.MANAGE_BOT))]
CanManageOutbound = Annotated[Principal, Depends(require(Perm.MANAGE_OUTBOUND))]
CanManageListeners = Annotated[Principal, Depends(require(Perm.MANAGE_LISTENERS))]
CanManageAutomation = Annotated[Principal, Depends(require(Perm.MANAGE_AUTOMATION))]
CanManageWebhooks = Annotated[Principal, Depends(require(Perm.MANAGE_WEBHOOKS))]
