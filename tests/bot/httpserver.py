"""A real HTTP server on 127.0.0.1 for flow actions and the outbound client (stdlib, in a thread)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import unquote

ORDERS = {
    "KF20261125001": {"status": "已发货", "status_en": "shipped", "eta": "11月28日", "carrier": "SF"},
    "KF20261125002": {"status": "待发货", "status_en": "awaiting shipment", "eta": "12月1日", "carrier": None},
}


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, bytes]]] = []

    def log_message(self, format: str, *args: object) -> None:
        return None

    def _send(
        self, status: int, body: bytes, ctype: str = "application/json", extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, b""))
        path = unquote(self.path.split("?", 1)[0])
        if path.startswith("/orders/"):
            order = ORDERS.get(path.removeprefix("/orders/"))
            if order is None:
                self._send(404, b'{"error": "no such order"}')
            else:
                self._send(200, json.dumps({"order_id": path.removeprefix("/orders/"), **order}).encode())
        elif path.startswith("/slow"):
            time.sleep(1.5)
            self._send(200, b'{"status": "late"}')
        elif path == "/big":
            self._send(200, b'{"x": "' + b"a" * 200_000 + b'"}')
        elif path == "/boom":
            self._send(500, b'{"error": "boom"}')
        elif path == "/text":
            self._send(200, b"not json", "text/plain")
        elif path.startswith("/redirect-to/"):
            self._send(302, b"", extra={"Location": path.removeprefix("/redirect-to/")})
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.requests.append(("POST", self.path, body))
        self._send(200, json.dumps({"echo": json.loads(body or b"null")}).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # a client that timed out (the /slow endpoint) closed the socket: expected


@contextlib.contextmanager
def serve() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """Yields (base_url, requests seen)."""
    handler = type("Handler", (_Handler,), {"requests": []})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
