"""/healthz, /readyz, /metrics (docs/operations.md) and the API's docs pages (/docs, /redoc). The event log
over HTTP is kefu.audit.api."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from kefu.core import metrics, readiness
from kefu.core.deps import StateDep
from kefu.core.errors import ErrorCode

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(state: StateDep) -> dict[str, Any]:
    """Liveness: the process answers. No I/O, so a slow database never gets a live node restarted."""
    return {"ok": True, "mode": "embedded" if state.settings.embedded else "scale-out"}


class CheckRead(BaseModel):
    ok: bool
    detail: str
    ms: float


class Readiness(BaseModel):
    ready: bool
    failed: list[str]  # the names of the checks that failed, in check order
    checks: dict[str, CheckRead]  # database, migrations, redis, jobs, embedder


READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"description": "not ready: the error's `details` is the Readiness body, `failed` naming the checks"}
}


@router.get("/readyz", response_model=Readiness, responses=READY_RESPONSES)
async def readyz(state: StateDep) -> Any:
    """Readiness: the database answers and is at the migration head, Redis answers (when configured), the
    jobs run (a fresh heartbeat), the embedding model is loaded. 200 with every check, or 503 with the
    error body whose `details` holds the same checks and `failed` names what failed."""
    checks = await readiness.check_database(state.engine)
    checks.append(await readiness.check_redis(state.settings.redis_url))
    checks.append(await readiness.check_jobs(state.jobs, embedded=state.settings.embedded))
    checks.append(readiness.check_embedder(state.embedder))
    failed = [c.name for c in checks if not c.ok]
    body = {"ready": not failed, "failed": failed, "checks": {c.name: c.to_json() for c in checks}}
    if failed:
        return _error(503, ErrorCode.UNAVAILABLE, "not ready: " + ", ".join(failed), details=body)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "the Prometheus text exposition format"},
    401: {"description": "no or a wrong `Authorization: Bearer <KEFU_METRICS_TOKEN>`"},
    404: {"description": "metrics are off (KEFU_METRICS_TOKEN is not set)"},
}


@router.get("/metrics", responses=METRICS_RESPONSES, response_class=Response)
async def metrics_endpoint(state: StateDep, request: Request) -> Response:
    """Prometheus metrics, for a scraper that sends `Authorization: Bearer <KEFU_METRICS_TOKEN>`."""
    authorization = request.headers.get("authorization")
    token = state.settings.metrics_token
    if not token:
        msg = "metrics are off: set KEFU_METRICS_TOKEN and scrape with `Authorization: Bearer <token>`"
        return _error(404, ErrorCode.NOT_FOUND, msg)
    scheme, _, offered = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), token.encode()):
        msg = "send `Authorization: Bearer <KEFU_METRICS_TOKEN>` to read the metrics"
        return _error(401, ErrorCode.UNAUTHORIZED, msg, {"WWW-Authenticate": "Bearer"})
    snap = await readiness.read_snapshot(state.sessionmaker, state.jobs)
    return Response(metrics.render(snap), media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _error(
    status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None, details: Any = None
) -> JSONResponse:
    """The API's error body, answered as is (a probe or a scraper is no browser: never the login redirect)."""
    error: dict[str, Any] = {"code": str(code), "message": message}
    if details is not None:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


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
