"""Calling WeChat's and WeCom's JSON APIs for an inbox: the access token, shared by every node, and the
call itself — used by the Official Account (channels/wechat) and WeCom (channels/wecom) adapters.

- **Where requests go.** Only to the inbox's configured `api_base_url`: every request runs through the
  one outbound client (core/http.py) under a policy that allows exactly that URL's host:port — so an
  admin who sets the base URL (WeChat's, a proxy, a test server) has allowed that one service and
  nothing else; no entry in the account's outbound-host list is needed.
- **The access token** is kept in `channel_states` (name `access_token`, with its expiry) so every node
  and worker uses the same one: fetched when missing, and again `TOKEN_MARGIN` before WeChat's
  `expires_in` ends. Two nodes refreshing at once is harmless — WeChat keeps the previous token valid for
  a few minutes after issuing a new one, WeCom hands out the same one while it is valid.
- **A refused token** (40001 invalid, 42001 expired, 40014 malformed) is fetched again and the call
  retried once; if another node has already replaced the refused token, its token is used instead of
  fetching a third.
- Any other non-zero `errcode` is a `WxApiError` carrying WeChat's errcode and errmsg; the adapters turn
  it into a `DeliveryResult` (`retryable`: WeChat's "system busy" and rate limits).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.channels.base import DeliveryResult
from kefu.channels.models import ChannelState
from kefu.core import clock
from kefu.core.http import HttpPolicy, OutboundHttp

TOKEN_STATE = "access_token"
TOKEN_MARGIN = timedelta(minutes=5)  # a cached token is refreshed this long before WeChat's expiry
TOKEN_ERRCODES = frozenset({40001, 42001, 40014})  # invalid, expired, malformed access token
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45011, 45033})  # system busy; API, frequency and rate limits
TIMEOUT_S = 10.0


class WxApiError(Exception):
    """WeChat / WeCom answered a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"WeChat error {errcode} ({errmsg}) from {path}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def retryable(self) -> bool:
        return self.errcode in RETRYABLE_ERRCODES


def policy_for(base_url: str) -> HttpPolicy:
    """A policy that allows exactly the host:port of the configured API base URL."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    return HttpPolicy.of([f"[{host}]:{port}" if ":" in host else f"{host}:{port}"])


# --- channel state: one value per (inbox, name), shared by every node -----------------------------


async def read_state(session: AsyncSession, inbox_id: int, name: str) -> ChannelState | None:
    q = select(ChannelState).where(ChannelState.inbox_id == inbox_id, ChannelState.name == name)
    return (await session.execute(q)).scalar_one_or_none()


async def write_state(
    session: AsyncSession, inbox_id: int, name: str, value: str, expires_at: datetime | None = None
) -> None:
    """Insert or replace the value (one statement: safe when two nodes write at once)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = clock.now()
    stmt = insert(ChannelState).values(inbox_id=inbox_id, name=name, value=value, expires_at=expires_at, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["inbox_id", "name"], set_={"value": value, "expires_at": expires_at, "updated_at": now}
    )
    await session.execute(stmt)


async def advance_state(session: AsyncSession, inbox_id: int, name: str, old: str | None, new: str) -> bool:
    """Move a value from `old` to `new` only if nobody moved it meanwhile (a cursor); False if someone did."""
    if old is None:
        current = await read_state(session, inbox_id, name)
        if current is not None:
            return False
        await write_state(session, inbox_id, name, new)
        return True
    result = await session.execute(
        update(ChannelState)
        .where(ChannelState.inbox_id == inbox_id, ChannelState.name == name, ChannelState.value == old)
        .values(value=new, updated_at=clock.now())
    )
    return bool(getattr(result, "rowcount", 0))


# --- the API client ---------------------------------------------------------------------------------

TokenFetcher = Callable[["WxClient"], Awaitable[tuple[str, int]]]


@dataclass
class WxClient:
    """One inbox's API: `fetch_token` asks WeChat for a new token → (token, expires_in seconds)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    inbox_id: int
    base_url: str
    fetch_token: TokenFetcher
    http: OutboundHttp = field(default_factory=lambda: OutboundHttp(timeout_s=TIMEOUT_S))

    def url(self, path: str, query: Mapping[str, str]) -> str:
        return f"{self.base_url.rstrip('/')}{path}?{urlencode(query)}"

    async def get_json(self, path: str, query: Mapping[str, str]) -> dict[str, Any]:
        resp = await self.http.get(self.url(path, query), policy=policy_for(self.base_url))
        return _checked(resp.json(), path)

    async def _post(self, path: str, token: str, body: Mapping[str, Any]) -> dict[str, Any]:
        resp = await self.http.request(
            "POST", self.url(path, {"access_token": token}), json_body=dict(body), policy=policy_for(self.base_url)
        )
        return _checked(resp.json(), path)

    async def token(self, refused: str | None = None) -> str:
        """The shared access token; `refused`: the token WeChat just refused (fetch another unless some
        node already did)."""
        async with self.sessionmaker() as session:
            row = await read_state(session, self.inbox_id, TOKEN_STATE)
        now = clock.now()
        if row is not None and row.value and row.value != refused and (row.expires_at or now) > now:
            return row.value
        token, expires_in = await self.fetch_token(self)
        expires_at = now + timedelta(seconds=max(expires_in, 0)) - TOKEN_MARGIN
        async with self.sessionmaker() as session:
            await write_state(session, self.inbox_id, TOKEN_STATE, token, max(expires_at, now))
            await session.commit()
        return token

    async def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST with the access token; a refused token is replaced and the call retried once."""
        token = await self.token()
        try:
            return await self._post(path, token, body)
        except WxApiError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
        return await self._post(path, await self.token(refused=token), body)


def delivery_result(exc: Exception, provider: str) -> DeliveryResult:
    """A failed API call as the message shows it: the provider's errcode and errmsg; retried when worth it."""
    if isinstance(exc, WxApiError):
        reason = f"{provider} refused the message: errcode {exc.errcode} {exc.errmsg}".strip()
        return DeliveryResult.retry_later(reason) if exc.retryable else DeliveryResult.failed(reason)
    return DeliveryResult.retry_later(f"{provider} could not be reached: {exc}")


def _checked(data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise WxApiError(-2, "the answer is not a JSON object", path)
    code = data.get("errcode", 0)
    if code:
        raise WxApiError(int(code), str(data.get("errmsg", "")), path)
    return data
