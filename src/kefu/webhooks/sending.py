"""One attempt of a webhook delivery: claim it, POST the signed body, record what happened.

The body is `{"id": <delivery id>, "event": <event type>, "created_at": <the event's time>, "data": <the
event's payload as the event log stores it>}`, signed as kefu.core.signing describes, sent through
kefu.core.http under the account's outbound-host policy. A 2xx answer delivers it; anything else (another
status, a timeout, a refused or failed connection) is a failed attempt, retried after the next of the
delays in `KEFU_WEBHOOK_RETRY_DELAYS_S`, and `failed` after the last one.

An attempt first leases its delivery (`leased_until`) in a short transaction, so two workers (the job and
the periodic catch-up, or a replay) never POST the same delivery at once, and no database connection is
held while the receiver answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.service import get_outbound_policy
from kefu.core import clock
from kefu.core.errors import Conflict
from kefu.core.eventlog import Event
from kefu.core.http import HttpPolicy, OutboundError, OutboundHttp
from kefu.core.signing import encode_body, signed_headers
from kefu.settings import Settings
from kefu.webhooks.models import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery

LEASE_S = 60.0  # longer than any attempt (the client's deadline is at most 30 s)
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    account_id: int
    uid: str
    url: str
    secret: str
    active: bool
    body: dict[str, Any] | None  # None: the event is gone
    policy: HttpPolicy
    attempts: int
    status: str


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Attempted:
    status: str
    retry_in: float | None  # seconds until the next automatic attempt


async def attempt(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    delivery_id: int,
    *,
    replay: bool = False,
    http: OutboundHttp | None = None,
) -> Attempted | None:
    """Make one attempt of the delivery; None when it is not due (delivered, failed, leased, not yet time).
    A replay attempts any delivery not under way (409 when it is), and never schedules a retry itself."""
    claimed = await _claim(sessionmaker, delivery_id, replay=replay)
    if claimed is None:
        if replay:
            raise Conflict(f"an attempt of delivery {delivery_id} is under way; try again in a minute")
        return None
    started = clock.now()
    outcome = await _post(claimed, settings, http or OutboundHttp(timeout_s=settings.webhook_timeout_s))
    return await _record(sessionmaker, settings, claimed, outcome, started, replay=replay)


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], delivery_id: int, *, replay: bool) -> Claimed | None:
    now = clock.now()
    async with sessionmaker() as session:
        cond = [WebhookDelivery.id == delivery_id]
        cond.append(or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now))
        if not replay:
            cond += [WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now]
        lease = now + timedelta(seconds=LEASE_S)
        done = await session.execute(update(WebhookDelivery).where(*cond).values(leased_until=lease))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            return None
        delivery = await session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        webhook = await session.get(Webhook, delivery.webhook_id)
        assert webhook is not None  # deleting a webhook deletes its deliveries
        event = await session.get(Event, delivery.event_id)
        policy = await get_outbound_policy(session, delivery.account_id)
        await session.commit()
    body = None
    if event is not None:
        body = {
            "id": delivery.uid,
            "event": delivery.event_type,
            "created_at": event.created_at.isoformat(),
            "data": event.payload,
        }
    return Claimed(
        delivery_id=delivery.id,
        account_id=delivery.account_id,
        uid=delivery.uid,
        url=webhook.url,
        secret=webhook.secret,
        active=webhook.active,
        body=body,
        policy=policy,
        attempts=delivery.attempts,
        status=delivery.status,
    )


async def _post(claimed: Claimed, settings: Settings, http: OutboundHttp) -> Outcome:
    if not claimed.active:
        return Outcome(False, None, "the webhook is turned off", 0)
    if claimed.body is None:
        return Outcome(False, None, "the event no longer exists", 0)
    raw = encode_body(claimed.body)
    headers = signed_headers(claimed.secret, claimed.uid, int(clock.now().timestamp()), raw)
    headers["User-Agent"] = "kefu-webhooks"
    began = time.monotonic()
    try:
        resp = await http.request(
            "POST", claimed.url, content=raw, headers=headers, policy=claimed.policy, timeout_s=http.timeout_s
        )
    except OutboundError as exc:
        return Outcome(False, None, str(exc)[:MAX_ERROR_CHARS], _ms(began))
    error = None if resp.ok else f"the receiver answered HTTP {resp.status_code}"
    return Outcome(resp.ok, resp.status_code, error, _ms(began))


def _ms(began: float) -> int:
    return int((time.monotonic() - began) * 1000)


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    claimed: Claimed,
    outcome: Outcome,
    started: Any,
    *,
    replay: bool,
) -> Attempted:
    now = clock.now()
    attempts = claimed.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "leased_until": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "last_duration_ms": outcome.duration_ms,
    }
    retry_in: float | None = None
    if outcome.ok:
        values |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif replay and claimed.status == DeliveryStatus.PENDING:
        pass  # its own schedule goes on
    elif not replay and claimed.active and claimed.body is not None and attempts <= len(settings.webhook_retry_delays):
        retry_in = settings.webhook_retry_delays[attempts - 1]
        values |= {"status": DeliveryStatus.PENDING, "next_attempt_at": now + timedelta(seconds=retry_in)}
    else:
        values |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    async with sessionmaker() as session:
        if await session.get(WebhookDelivery, claimed.delivery_id) is None:
            return Attempted("deleted", None)  # its webhook was deleted meanwhile
        session.add(
            WebhookAttempt(
                account_id=claimed.account_id,
                delivery_id=claimed.delivery_id,
                started_at=started,
                duration_ms=outcome.duration_ms,
                status_code=outcome.status_code,
                error=outcome.error,
                ok=outcome.ok,
                replay=replay,
            )
        )
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == claimed.delivery_id).values(values))
        await session.commit()
        status = await session.scalar(select(WebhookDelivery.status).where(WebhookDelivery.id == claimed.delivery_id))
    return Attempted(str(status), retry_in)
