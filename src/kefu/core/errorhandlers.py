"""Every error leaves as a precise 4xx JSON body {"error": {"code", "message", "details"?}} — never a 500
page. Browser pages (outside /api) that need a login are redirected to /login."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kefu.core.errors import ErrorCode, KefuError, RateLimited, Unauthorized, Unavailable

log = logging.getLogger("kefu.errors")


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


def is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/ws/")) and request.method == "GET"


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body",)]
        out.append({"field": ".".join(loc), "message": e.get("msg", "invalid"), "type": e.get("type")})
    return out


async def kefu_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KefuError)
    if isinstance(exc, Unauthorized) and is_page(request):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited | Unavailable) else None
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(_body(ErrorCode.INVALID_JSON, "request body is not valid JSON"), status_code=400)
    fields = _field_errors(exc)
    summary = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields[:5])
    return JSONResponse(_body(ErrorCode.VALIDATION, summary, fields), status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.BAD_REQUEST}.get(exc.status_code, ErrorCode.BAD_REQUEST)
    message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
    return JSONResponse(_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def integrity_error(request: Request, exc: Exception) -> Response:
    log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(_body(ErrorCode.CONFLICT, "the change conflicts with existing data"), status_code=409)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(_body("internal_error", "unexpected server error; it has been logged"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(KefuError, kefu_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(Exception, unexpected_error)
