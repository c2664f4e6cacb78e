"""/healthz, the event log (/api/v1/events) for audit and integrations, and the API's docs pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import fastapi_offline
from fastapi import APIRouter, Query
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select, text

from kefu.auth.access import restrict
from kefu.conversations.event_messages import event_messages
from kefu.core.deps import CanViewEvents, SessionDep, StateDep
from kefu.core.eventlog import Event
from kefu.core.schemas import AfterId, Id

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(session: SessionDep, state: StateDep) -> dict[str, Any]:
    await session.execute(text("SELECT 1"))
    return {"ok": True, "mode": "embedded" if state.settings.embedded else "scale-out"}


class EventRead(BaseModel):
    id: int
    type: str
    account_id: int
    conversation_id: int | None
    contact_id: int | None
    actor: dict[str, Any]
    payload: dict[str, Any]
    created_at: str


@router.get("/api/v1/events", response_model=list[EventRead])
async def list_events(
    session: SessionDep,
    principal: CanViewEvents,
    after_id: AfterId = 0,
    type: Annotated[str | None, Query(max_length=64)] = None,
    conversation_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    q = restrict(select(Event), Event, principal.account_id).where(Event.id > after_id)
    if type:
        q = q.where(Event.type == type)
    if conversation_id is not None:
        q = q.where(Event.conversation_id == conversation_id)
    rows = list((await session.execute(q.order_by(Event.id).limit(limit))).scalars())
    return await event_messages(session, rows)  # a message.created event carries its message (joined)


# Current Swagger UI (5.x, which reads OpenAPI 3.1) and ReDoc, bundled by fastapi-offline; main.py mounts
# the directory at /static/docs. Nothing is loaded from a CDN.
DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"
OPENAPI_URL = "/api/v1/openapi.json"
# The pages may load only what kefu serves: ReDoc's footer would otherwise fetch its logo from a CDN.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:"
)


@router.get("/docs", include_in_schema=False)
async def swagger_ui() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="kefu API",
        swagger_js_url="/static/docs/swagger-ui-bundle.js",
        swagger_css_url="/static/docs/swagger-ui.css",
        swagger_favicon_url="/static/docs/favicon.png",
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


@router.get("/redoc", include_in_schema=False)
async def redoc() -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=OPENAPI_URL,
        title="kefu API",
        redoc_js_url="/static/docs/redoc.standalone.js",
        redoc_favicon_url="/static/docs/favicon.png",
        with_google_fonts=False,
    )
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page
