"""The one outbound HTTP client (CONVENTIONS: no ad-hoc outbound HTTP — SSRF).

Every request kefu makes to a URL that came from configuration (bot flow actions, webhooks, …) goes
through `OutboundHttp`, under an `HttpPolicy` — the account's list of outbound hosts, which an admin
keeps (Admin → Outbound hosts, `PUT /api/v1/account/outbound_hosts`):

- **only listed hosts** — an entry is `host` (any port) or `host:port`; a URL whose host and port match
  no entry is refused;
- **only public addresses** — the host is resolved once and refused when any address is loopback,
  private, link-local, unique-local, shared, multicast, reserved or unspecified (IPv4 and IPv6, IPv4 in
  IPv6 included; decimal and octal host spellings resolve to the address they mean), unless the entry
  names that host *with its port* — an admin's explicit choice to let the bot reach that one service;
- **the checked address is the one connected to** — the request goes to the resolved IP with the
  original `Host` header and TLS server name (SNI, certificate check): no second DNS lookup, so a name
  cannot be re-pointed (DNS rebinding) between the check and the connection;
- only `http` and `https`; redirects are followed by hand (at most 3) and every hop is checked again;
- one overall deadline per request (`timeout_s`), not per phase;
- responses larger than `max_bytes` are cut off with an error instead of being buffered.

Errors are `OutboundError` subclasses with a message that says what went wrong.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

MAX_REDIRECTS = 3
DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 30.0
DEFAULT_MAX_BYTES = 1_000_000
MAX_ALLOWED_HOSTS = 50
Resolver = Callable[[str, int], Awaitable[list[str]]]
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


class OutboundError(Exception):
    """An outbound request was refused or failed; `str(exc)` says why."""

    code = "failed"


class OutboundDenied(OutboundError):
    code = "denied"


class OutboundTimeout(OutboundError):
    code = "timeout"


class OutboundTooLarge(OutboundError):
    code = "too_large"


@dataclass(frozen=True, order=True)
class AllowedHost:
    """One entry of an account's outbound list: a host name or IP, and optionally one port."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, raw: str) -> AllowedHost:
        """`api.shop.example`, `api.shop.example:443`, `10.0.0.5:8080`, `[fd00::5]:80`; ValueError says
        what is wrong. No scheme, path or user."""
        text = raw.strip().lower()
        if not text:
            raise ValueError("empty entry")
        if "/" in text or "@" in text or "?" in text or "#" in text:
            raise ValueError(f"{raw.strip()!r}: give a host or host:port, not a URL")
        host, port = _split_host_port(text, raw)
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
                raise ValueError(f"{raw.strip()!r}: not a host name or IP address") from None
        return cls(host, port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def _split_host_port(text: str, raw: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ("" if not rest else None)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""  # a bare IPv6 address has several colons and no port
    if port_text is None or (port_text and not port_text.isdigit()):
        raise ValueError(f"{raw.strip()!r}: the port must be a number")
    port = int(port_text) if port_text else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{raw.strip()!r}: the port must be between 1 and 65535")
    return host, port


def parse_hosts(raw: str | Iterable[str]) -> list[AllowedHost]:
    """Entries from a list or from text (one per line or comma-separated), de-duplicated, in order."""
    items = re.split(r"[,\s]+", raw) if isinstance(raw, str) else list(raw)
    out: list[AllowedHost] = []
    for item in items:
        if item.strip():
            entry = AllowedHost.parse(item)
            if entry not in out:
                out.append(entry)
    if len(out) > MAX_ALLOWED_HOSTS:
        raise ValueError(f"at most {MAX_ALLOWED_HOSTS} outbound hosts (got {len(out)})")
    return out


@dataclass(frozen=True)
class HttpPolicy:
    """Which hosts a request may reach: an account's outbound list. The empty policy refuses everything."""

    allow: frozenset[AllowedHost] = frozenset()

    @classmethod
    def of(cls, entries: Iterable[str | AllowedHost]) -> HttpPolicy:
        return cls(frozenset(e if isinstance(e, AllowedHost) else AllowedHost.parse(e) for e in entries))

    def entry_for(self, host: str, port: int) -> AllowedHost | None:
        host = _canonical(host)
        if AllowedHost(host, port) in self.allow:
            return AllowedHost(host, port)
        return AllowedHost(host) if AllowedHost(host) in self.allow else None


def _canonical(host: str) -> str:
    host = host.lower().strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def is_public_address(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
        if ip.ipv4_mapped is not None:
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


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to call it (`host`, for Host and SNI)."""

    url: str
    host: str
    port: int
    address: str

    def pinned_url(self) -> httpx.URL:
        return httpx.URL(self.url).copy_with(host=self.address)

    def host_header(self) -> str:
        parts = urlsplit(self.url)
        default = 443 if parts.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


async def system_resolve(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundError(f"host {host!r} could not be resolved: {exc}") from exc
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


@dataclass(frozen=True)
class _Raw:
    data: bytes


@dataclass
class OutboundHttp:
    policy: HttpPolicy = field(default_factory=HttpPolicy)  # used when a request names none
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_bytes: int = DEFAULT_MAX_BYTES
    transport: httpx.AsyncBaseTransport | None = None  # tests may pass httpx.MockTransport
    resolve: Resolver = system_resolve  # tests may pass their own DNS

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
        policy: HttpPolicy | None = None,
        content: bytes | None = None,
    ) -> OutboundResponse:
        """`json_body` is serialised by the client; `content` is sent as these exact bytes (a signed body)."""
        deadline = min(timeout_s or self.timeout_s, MAX_TIMEOUT_S)
        body: Any = _Raw(content) if content is not None else json_body
        try:
            async with asyncio.timeout(deadline):
                return await self._follow(method.upper(), url, body, headers or {}, policy or self.policy)
        except TimeoutError as exc:
            raise OutboundTimeout(f"{method.upper()} {_safe(url)} timed out after {deadline:g} s") from exc

    async def get(self, url: str, **kw: Any) -> OutboundResponse:
        return await self.request("GET", url, **kw)

    async def _follow(
        self, method: str, url: str, body: Any, headers: dict[str, str], policy: HttpPolicy
    ) -> OutboundResponse:
        async with httpx.AsyncClient(transport=self.transport, follow_redirects=False, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                target = await self.check_url(url, policy)
                resp = await self._send(client, method, target, body, headers)
                location = resp.headers.get("location")
                if resp.status_code in (301, 302, 303, 307, 308) and location:
                    url = urljoin(url, location)
                    if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    continue
                return resp
        raise OutboundError(f"{_safe(url)}: more than {MAX_REDIRECTS} redirects")

    async def _send(
        self, client: httpx.AsyncClient, method: str, target: Target, body: Any, headers: dict[str, str]
    ) -> OutboundResponse:
        url = target.url
        sent = {k: v for k, v in headers.items() if k.lower() != "host"} | {"Host": target.host_header()}
        extensions = {"sni_hostname": target.host} if urlsplit(url).scheme == "https" else {}
        try:
            if isinstance(body, _Raw):
                request = client.build_request(
                    method, target.pinned_url(), content=body.data, headers=sent, extensions=extensions
                )
            else:
                request = client.build_request(
                    method, target.pinned_url(), json=body, headers=sent, extensions=extensions
                )
            resp = await client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.aiter_bytes():  # decompressed as it arrives
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise OutboundTooLarge(f"{_safe(url)} answered more than {self.max_bytes:,} bytes")
                    chunks.append(chunk)
            finally:
                await resp.aclose()
            return OutboundResponse(resp.status_code, dict(resp.headers), b"".join(chunks), url)
        except httpx.HTTPError as exc:
            raise OutboundError(f"{method} {_safe(url)} failed: {type(exc).__name__}: {exc}") from exc

    async def check_url(self, url: str, policy: HttpPolicy | None = None) -> Target:
        """The address to connect to for `url`, or OutboundDenied when the policy does not allow it."""
        policy = policy or self.policy
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise OutboundDenied(f"only http and https URLs may be called, not {parts.scheme or 'no scheme'!r}")
        host = _canonical(parts.hostname or "")
        if not host:
            raise OutboundDenied(f"URL {_safe(url)!r} has no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise OutboundDenied(f"URL {_safe(url)!r} has an invalid port") from exc
        named = AllowedHost(host, port)
        entry = policy.entry_for(host, port)
        if entry is None:
            raise OutboundDenied(f"{named} is not on this account's list of outbound hosts (Admin → Outbound hosts)")
        addresses = await self.resolve(host, port)
        if not addresses:
            raise OutboundError(f"host {host!r} could not be resolved")
        if entry.port is None:
            for addr in addresses:
                if not is_public_address(addr):
                    raise OutboundDenied(
                        f"host {host!r} resolves to the non-public address {addr}; list it with its port "
                        f"({named}) to allow it"
                    )
        return Target(url, host, port, addresses[0])


def _safe(url: str) -> str:
    """The URL without credentials or query string (both may carry secrets) for error messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def make_http(settings: Any, **kw: Any) -> OutboundHttp:
    """The client; every request names the account's policy (`policy=`), the default refuses everything."""
    return OutboundHttp(**kw)
