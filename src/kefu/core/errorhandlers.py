"""Every error leaves as a precise 4xx JSON body {"error": {"code", "message", "details"?}} — never a 500
page. Browser pages (outside /api) that need a login are redirected to /login."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from kefu.core.errors import ErrorCode, KefuError, RateLimited, Unauthorized, Unavailable

log = logging.getLogger("kefu.errors")


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


def is_page(request: Request) -> bool:
    path = request.url.path
    # /channels/: a provider's webhook (WeChat's GET check of the callback URL) answers errors as JSON
    return not path.startswith(("/api/", "/ws/", "/channels/")) and request.method == "GET"


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


def routes(app: Starlette) -> Iterator[Any]:
    """Every route of the app with its full path, including those of included routers (newer FastAPI
    keeps those as one route per router; `iter_route_contexts` yields the routes inside)."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    yield from contexts(app.routes) if contexts is not None else app.routes


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. The router's 405 names only the first route that
    matched the path, and GET /x and POST /x are two routes."""
    methods: set[str] = set()
    for route in routes(request.app):
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 404:
        code, message = ErrorCode.NOT_FOUND, "no such endpoint"
    elif exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
        code, message = ErrorCode.METHOD_NOT_ALLOWED, f"{request.method} is not allowed here; use {headers['Allow']}"
    else:
        code, message = ErrorCode.BAD_REQUEST, str(exc.detail)
    return JSONResponse(_body(code, message), status_code=exc.status_code, headers=headers or None)


async def integrity_error(request: Request, exc: Exception) -> Response:
    log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(_body(ErrorCode.CONFLICT, "the change conflicts with existing data"), status_code=409)


async def too_deep(request: Request, exc: Exception) -> Response:
    """Input nested so deeply that handling it ran out of stack (a JSON body parsed before any limit could
    look at it): the client's fault, never a 500."""
    log.warning("input nested too deeply on %s %s", request.method, request.url.path)
    return JSONResponse(_body(ErrorCode.BAD_REQUEST, "the request is nested too deeply"), status_code=400)


async def out_of_range(request: Request, exc: Exception) -> Response:
    """A number too large for the database (ids are bounded where they are declared; this is the net)."""
    log.warning("number out of range on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(_body(ErrorCode.VALIDATION, "a number in the request is out of range"), status_code=422)


def _caused_by_overflow(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, OverflowError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


OVERLOADED_RETRY_AFTER_S = 5


async def overloaded(request: Request, exc: Exception) -> Response:
    """No database connection came free in time (the pool's timeout), or SQLite stayed locked past its busy
    timeout: the node is overloaded, not the request wrong — 503 with Retry-After, safe to retry."""
    log.warning("overloaded on %s %s: %s", request.method, request.url.path, exc)
    err = Unavailable("the server is busy; try again shortly", retry_after=OVERLOADED_RETRY_AFTER_S)
    return await kefu_error(request, err)


async def database_error(request: Request, exc: Exception) -> Response:
    """asyncpg reports an integer beyond int64 as a DataError caused by an OverflowError: the same net."""
    if _caused_by_overflow(exc):
        return await out_of_range(request, exc)
    if isinstance(exc, OperationalError) and "database is locked" in str(exc):
        return await overloaded(request, exc)
    return await unexpected_error(request, exc)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(_body("internal_error", "unexpected server error; it has been logged"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(KefuError, kefu_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(RecursionError, too_deep)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(PoolTimeout, overloaded)
    app.add_exception_handler(Exception, unexpected_error)
