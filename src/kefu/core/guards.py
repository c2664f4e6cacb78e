"""ASGI middleware around the whole app: who the client is, how big a request may be, and the security
headers of every response (docs/architecture.md#security-model).

- `ClientAddress` — `X-Forwarded-For` names the client only when the connection comes from a proxy listed
  in `KEFU_TRUSTED_PROXIES` (addresses or networks); the right-most address that is not such a proxy is
  the client. Without the setting the peer address is the client, whatever the header says.
- `BodyLimit` — a body over the limit is refused with 413 before it is read: at once when Content-Length
  says so, otherwise as soon as the streamed bytes pass the limit. Uploads have their own, larger limit.
- `SecurityHeaders` — CSP without inline script, frame-ancestors 'none' (the widget frame is the one page
  customers' sites may embed), nosniff, Referrer-Policy, and HSTS when the public URL is https.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any

from kefu.core.errors import ErrorCode, TooLarge

Scope = dict[str, Any]
Message = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str | Iterable[str]) -> tuple[Network, ...]:
    items = raw.split(",") if isinstance(raw, str) else raw
    return tuple(ipaddress.ip_network(i.strip(), strict=False) for i in items if i.strip())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class ClientAddress:
    def __init__(self, app: Any, trusted: str) -> None:
        self.app = app
        self.trusted = parse_networks(trusted)

    def _trusted(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def client_of(self, peer: str, forwarded: str | None) -> str:
        if not forwarded or not self._trusted(peer):
            return peer
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not self._trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # a garbled header: keep the address we know
        return peer

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted and scope.get("client"):
            peer, port = scope["client"]
            client = self.client_of(peer, _header(scope, b"x-forwarded-for"))
            if client != peer:
                scope = {**scope, "client": (client, port)}
        await self.app(scope, receive, send)


def too_large_message(limit: int) -> str:
    return f"the request body is larger than the limit of {limit:,} bytes"


class BodyLimit:
    def __init__(self, app: Any, *, default: int, uploads: int, upload_paths: str) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads
        self.upload_paths = re.compile(upload_paths)

    def limit_for(self, path: str) -> int:
        return self.uploads if self.upload_paths.match(path) else self.default

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_too_large(send, limit)
            return
        seen = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise TooLarge(too_large_message(limit))
            return message

        async def guarded_send(message: Message) -> None:
            # The app may have turned the error into another answer (FastAPI's body parser makes any
            # failure a 400): whatever it says, the client learns the body was too large.
            nonlocal started
            if exceeded and not started:
                started = True
                await _send_too_large(send, limit)
            elif not exceeded:
                started = started or message["type"] == "http.response.start"
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


async def _send_too_large(send: Any, limit: int) -> None:
    body = json.dumps({"error": {"code": str(ErrorCode.TOO_LARGE), "message": too_large_message(limit)}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# Pages: scripts and styles from kefu itself only (styles may be inline: htmx adds its indicator style).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors {ancestors}"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
# Swagger UI starts from one inline script of FastAPI's page; /docs shows no user data.
DOCS_CSP = PAGE_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
EMBEDDABLE = re.compile(r"^/widget/frame$")


def csp_for(path: str) -> str:
    if path.startswith("/api/"):
        return API_CSP
    if path == "/docs":
        return DOCS_CSP.format(ancestors="'none'")
    return PAGE_CSP.format(ancestors="*" if EMBEDDABLE.match(path) else "'none'")


class SecurityHeaders:
    def __init__(self, app: Any, *, https: bool) -> None:
        self.app = app
        self.https = https

    def headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        out = [
            (b"content-security-policy", csp_for(path).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if not EMBEDDABLE.match(path):
            out.append((b"x-frame-options", b"DENY"))
        if self.https:
            out.append((b"strict-transport-security", b"max-age=31536000"))
        return out

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                added = [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, with_headers)
