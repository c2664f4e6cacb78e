"""/healthz and the API's docs pages (/docs, /redoc). The event log over HTTP is kefu.audit.api."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from kefu.core.deps import SessionDep, StateDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(session: SessionDep, state: StateDep) -> dict[str, Any]:
    await session.execute(text("SELECT 1"))
    return {"ok": True, "mode": "embedded" if state.settings.embedded else "scale-out"}


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
