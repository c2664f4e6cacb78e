"""The one outbound HTTP client (CONVENTIONS: no ad-hoc outbound HTTP — SSRF).

Every request kefu makes to a URL that came from configuration (bot flow actions, webhooks, …) goes
through `OutboundHttp`:

- **address policy** — the host is resolved first and the request is refused when any address is
  private, loopback, link-local, multicast, reserved or unspecified, unless the host is on the explicit
  allow-list (`KEFU_HTTP_ALLOW_HOSTS`, comma-separated host names or IPs; the host of `KEFU_BASE_URL`
  is always allowed so kefu may call its own endpoints, e.g. the demo order API);
- only `http` and `https`; redirects are followed by hand (at most 3) and every hop is checked again;
- one overall deadline per request (`timeout_s`), not per phase;
- responses larger than `max_bytes` are cut off with an error instead of being buffered.

Errors are `OutboundError` subclasses with a message that says what went wrong.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

MAX_REDIRECTS = 3
DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 30.0
DEFAULT_MAX_BYTES = 1_000_000


class OutboundError(Exception):
    """An outbound request was refused or failed; `str(exc)` says why."""

    code = "failed"


class OutboundDenied(OutboundError):
    code = "denied"


class OutboundTimeout(OutboundError):
    code = "timeout"


class OutboundTooLarge(OutboundError):
    code = "too_large"


@dataclass(frozen=True)
class HttpPolicy:
    allow_hosts: frozenset[str] = frozenset()
    deny_private: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> HttpPolicy:
        hosts = parse_hosts(getattr(settings, "http_allow_hosts", "") or "")
        base = urlsplit(getattr(settings, "base_url", "") or "").hostname
        if base:
            hosts.add(base.lower())
        return cls(frozenset(hosts))

    def host_allowed(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allow_hosts


def parse_hosts(raw: str | Iterable[str]) -> set[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    return {h.strip().lower().strip("[]") for h in items if h.strip()}


def is_public_address(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global also excludes shared (100.64/10), documentation and benchmarking ranges
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass
class OutboundResponse:
    status_code: int
    headers: dict[str, str]
    content: bytes
    url: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise OutboundError(f"{self.url} did not answer with JSON: {exc}") from exc


@dataclass
class OutboundHttp:
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_bytes: int = DEFAULT_MAX_BYTES
    transport: httpx.AsyncBaseTransport | None = None  # tests may pass httpx.MockTransport

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> OutboundResponse:
        deadline = min(timeout_s or self.timeout_s, MAX_TIMEOUT_S)
        try:
            async with asyncio.timeout(deadline):
                return await self._follow(method.upper(), url, json_body, headers or {})
        except TimeoutError as exc:
            raise OutboundTimeout(f"{method.upper()} {_safe(url)} timed out after {deadline:g} s") from exc

    async def get(self, url: str, **kw: Any) -> OutboundResponse:
        return await self.request("GET", url, **kw)

    async def _follow(self, method: str, url: str, body: Any, headers: dict[str, str]) -> OutboundResponse:
        async with httpx.AsyncClient(transport=self.transport, follow_redirects=False, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                await self.check_url(url)
                resp = await self._send(client, method, url, body, headers)
                location = resp.headers.get("location")
                if resp.status_code in (301, 302, 303, 307, 308) and location:
                    url = urljoin(url, location)
                    if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    continue
                return resp
        raise OutboundError(f"{_safe(url)}: more than {MAX_REDIRECTS} redirects")

    async def _send(
        self, client: httpx.AsyncClient, method: str, url: str, body: Any, headers: dict[str, str]
    ) -> OutboundResponse:
        try:
            async with client.stream(method, url, json=body, headers=headers) as resp:
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.aiter_bytes():  # decompressed as it arrives
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise OutboundTooLarge(f"{_safe(url)} answered more than {self.max_bytes:,} bytes")
                    chunks.append(chunk)
                return OutboundResponse(resp.status_code, dict(resp.headers), b"".join(chunks), url)
        except httpx.HTTPError as exc:
            raise OutboundError(f"{method} {_safe(url)} failed: {type(exc).__name__}: {exc}") from exc

    async def check_url(self, url: str) -> None:
        """Raise OutboundDenied unless the policy lets kefu call `url`."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise OutboundDenied(f"only http and https URLs may be called, not {parts.scheme or 'no scheme'!r}")
        host = (parts.hostname or "").lower()
        if not host:
            raise OutboundDenied(f"URL {_safe(url)!r} has no host")
        if self.policy.host_allowed(host) or not self.policy.deny_private:
            return
        for addr in await _resolve(host, parts.port or (443 if parts.scheme == "https" else 80)):
            if not is_public_address(addr):
                raise OutboundDenied(
                    f"host {host!r} resolves to the non-public address {addr}; add it to "
                    "KEFU_HTTP_ALLOW_HOSTS to allow it"
                )


async def _resolve(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundError(f"host {host!r} could not be resolved: {exc}") from exc
    return sorted({str(info[4][0]) for info in infos})


def _safe(url: str) -> str:
    """The URL without credentials or query string (both may carry secrets) for error messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def make_http(settings: Any, **kw: Any) -> OutboundHttp:
    return OutboundHttp(HttpPolicy.from_settings(settings), **kw)
