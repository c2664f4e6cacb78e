"""Webhooks: the only place that writes them (docs/webhooks.md).

A webhook's URL must be one the account's outbound policy lets kefu call (kefu.core.http): refused with a
422 that says why when it is created or changed, and checked again on every attempt. Its secret is kept
as given (or generated) and never read back: the API and the UI show a mask."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.service import get_outbound_policy
from kefu.auth.access import get_scoped, restrict
from kefu.core.errors import NotFound, Unprocessable
from kefu.core.events import commit
from kefu.core.http import OutboundError, OutboundHttp
from kefu.core.pagination import Cursor, page_by_id
from kefu.core.signing import new_secret
from kefu.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from kefu.webhooks.schemas import SECRET_MASK, WebhookCreate, WebhookUpdate

MAX_WEBHOOKS = 50


async def get_webhook(session: AsyncSession, account_id: int, webhook_id: int) -> Webhook:
    return await get_scoped(session, Webhook, webhook_id, account_id, "webhook")


async def list_webhooks(session: AsyncSession, account_id: int) -> list[Webhook]:
    q = restrict(select(Webhook), Webhook, account_id).order_by(Webhook.id)
    return list((await session.execute(q)).scalars())


async def check_url(session: AsyncSession, account_id: int, url: str, http: OutboundHttp | None = None) -> None:
    """422 when the account's outbound policy would refuse to call `url`."""
    policy = await get_outbound_policy(session, account_id)
    try:
        await (http or OutboundHttp()).check_url(url, policy)
    except OutboundError as exc:
        raise Unprocessable(f"url: {exc}") from None


async def check_create_webhook(
    session: AsyncSession, account_id: int, data: WebhookCreate, http: OutboundHttp | None = None
) -> tuple[Webhook, str]:
    """The new webhook and its secret in clear (to show once)."""
    await check_url(session, account_id, data.url, http)
    if len(await list_webhooks(session, account_id)) >= MAX_WEBHOOKS:
        raise Unprocessable(f"an account has at most {MAX_WEBHOOKS} webhooks")
    secret = data.secret or new_secret()
    webhook = Webhook(account_id=account_id, url=data.url, events=data.events, secret=secret, active=data.active)
    session.add(webhook)
    await commit(session)
    return webhook, secret


async def check_update_webhook(
    session: AsyncSession, account_id: int, webhook_id: int, data: WebhookUpdate, http: OutboundHttp | None = None
) -> Webhook:
    webhook = await get_webhook(session, account_id, webhook_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        await check_url(session, account_id, changes["url"], http)
    if changes.get("secret") in (None, SECRET_MASK):
        changes.pop("secret", None)
    for field, value in changes.items():
        setattr(webhook, field, value)
    await commit(session)
    return webhook


async def do_delete_webhook(session: AsyncSession, account_id: int, webhook_id: int) -> None:
    webhook = await get_webhook(session, account_id, webhook_id)
    await session.delete(webhook)
    await commit(session)


async def list_deliveries(
    session: AsyncSession, account_id: int, webhook_id: int, *, cursor: Cursor | None, limit: int
) -> tuple[list[WebhookDelivery], dict[int, list[WebhookAttempt]], Cursor | None]:
    """A page of the webhook's deliveries, newest first, with each one's attempts (two queries)."""
    await get_webhook(session, account_id, webhook_id)
    q = restrict(select(WebhookDelivery), WebhookDelivery, account_id).where(WebhookDelivery.webhook_id == webhook_id)
    rows, nxt = await page_by_id(session, q, WebhookDelivery, cursor, limit)
    return rows, await attempts_of(session, [r.id for r in rows]), nxt


async def attempts_of(session: AsyncSession, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    by_delivery: dict[int, list[WebhookAttempt]] = defaultdict(list)
    if delivery_ids:
        q = select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids)).order_by(WebhookAttempt.id)
        for a in (await session.execute(q)).scalars():
            by_delivery[a.delivery_id].append(a)
    return by_delivery


async def get_delivery(session: AsyncSession, account_id: int, webhook_id: int, delivery_id: int) -> WebhookDelivery:
    delivery = await get_scoped(session, WebhookDelivery, delivery_id, account_id, "delivery")
    if delivery.webhook_id != webhook_id:
        await get_webhook(session, account_id, webhook_id)
        raise NotFound("delivery", delivery_id)
    return delivery
