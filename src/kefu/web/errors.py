"""Unknown pages get the HTML error page in the visitor's language; API paths keep the JSON error body."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kefu.core import errorhandlers
from kefu.web.rendering import error_page, t


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and errorhandlers.is_page(request):
        return error_page(request, 404, t(request, "Not found"))
    return await errorhandlers.http_error(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)
