"""The request middleware of docs/operations.md "Logs" and "Metrics": for every HTTP request it sets the
request id (core/logs.py) and returns it in `X-Request-Id`, counts the request and its latency by route
template and status (core/metrics.py), and writes one `kefu.request` log line.

Pure ASGI (no BaseHTTPMiddleware): a streamed response is timed to its last byte and nothing is buffered.
The route label is the matched route's template (`/api/v1/conversations/{conversation_id}`), a mount's
prefix (`/static`), or `<unmatched>` — never the raw path, so a scanner cannot blow up the label set.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu.core import metrics
from kefu.core.logs import REQUEST_ID, REQUEST_ID_HEADER, new_request_id

log = logging.getLogger("kefu.request")
UNMATCHED = "<unmatched>"
NOT_COUNTED = frozenset({"/metrics"})  # the scraper's own requests would dominate the request counts
# Path parameters that are credentials (an attachment's signed download URL): masked in the logged path.
SECRET_PATH_PARAMS = frozenset({"signature", "token", "ticket", "secret"})


def logged_path(scope: Scope) -> str:
    """The request's path (never its query string), with credential path parameters replaced by `***`."""
    path: str = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        if name in SECRET_PATH_PARAMS and isinstance(value, str) and value:
            path = path.replace(value, "***")
    return path


def route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return UNMATCHED


class RequestTelemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = new_request_id(offered)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            if route not in NOT_COUNTED:
                metrics.http_answered(scope["method"], route, status, seconds)
            client = (scope.get("client") or ("",))[0]  # as ClientAddress resolved it (it runs outside this)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": logged_path(scope),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "client": client,
                },
            )
            REQUEST_ID.reset(token)
