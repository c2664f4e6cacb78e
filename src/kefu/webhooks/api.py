"""/api/v1/webhooks: an account's outbound webhooks (CRUD), their delivery log and replay. Admins only
(Perm.MANAGE_WEBHOOKS). docs/webhooks.md describes the deliveries and how to verify them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kefu.auth.deps import CanManageWebhooks
from kefu.core.deps import SessionDep, StateDep
from kefu.core.openapi import errors
from kefu.core.pagination import MAX_LIMIT, Cursor, CursorParam
from kefu.core.schemas import Id, Page
from kefu.webhooks import service
from kefu.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from kefu.webhooks.schemas import SECRET_MASK, AttemptRead, DeliveryRead, WebhookCreate, WebhookRead, WebhookUpdate
from kefu.webhooks.sending import attempt

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


def webhook_read(webhook: Webhook, secret: str = SECRET_MASK) -> WebhookRead:
    return WebhookRead.model_validate({**_columns(webhook), "secret": secret})


def _columns(webhook: Webhook) -> dict[str, object]:
    names = ("id", "url", "events", "active", "created_at", "updated_at")
    return {n: getattr(webhook, n) for n in names}


def delivery_read(d: WebhookDelivery, log: list[WebhookAttempt]) -> DeliveryRead:
    fields = {n: getattr(d, n) for n in DeliveryRead.model_fields if n not in ("delivery_id", "log")}
    return DeliveryRead.model_validate(
        {**fields, "delivery_id": d.uid, "log": [AttemptRead.model_validate(a) for a in log]}
    )


@router.get("", response_model=list[WebhookRead])
async def list_webhooks(session: SessionDep, principal: CanManageWebhooks) -> list[WebhookRead]:
    return [webhook_read(w) for w in await service.list_webhooks(session, principal.account_id)]


@router.post("", response_model=WebhookRead, status_code=201, responses=errors(422))
async def create_webhook(data: WebhookCreate, session: SessionDep, principal: CanManageWebhooks) -> WebhookRead:
    """Subscribe `url` to `events`. The answer carries the signing secret in clear — the only time it is
    shown. 422 for an event type kefu does not know (named) or a URL the account's outbound hosts do not
    allow (Admin → Outbound hosts)."""
    webhook, secret = await service.check_create_webhook(session, principal.account_id, data)
    return webhook_read(webhook, secret)


@router.get("/{webhook_id}", response_model=WebhookRead)
async def get_webhook(webhook_id: Id, session: SessionDep, principal: CanManageWebhooks) -> WebhookRead:
    return webhook_read(await service.get_webhook(session, principal.account_id, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookRead, responses=errors(422))
async def update_webhook(
    webhook_id: Id, data: WebhookUpdate, session: SessionDep, principal: CanManageWebhooks
) -> WebhookRead:
    """Change the URL, events, `active` or the secret (the mask keeps the current one)."""
    return webhook_read(await service.check_update_webhook(session, principal.account_id, webhook_id, data))


@router.delete("/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: Id, session: SessionDep, principal: CanManageWebhooks) -> Response:
    """Delete the webhook and its delivery log."""
    await service.do_delete_webhook(session, principal.account_id, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead])
async def list_deliveries(
    webhook_id: Id,
    session: SessionDep,
    principal: CanManageWebhooks,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page[DeliveryRead]:
    """The webhook's deliveries, newest first, each with its attempts (status code, error, duration)."""
    rows, logs, nxt = await service.list_deliveries(
        session, principal.account_id, webhook_id, cursor=Cursor.decode(cursor), limit=limit
    )
    items = [delivery_read(d, logs.get(d.id, [])) for d in rows]
    return Page(items=items, next_cursor=nxt.encode() if nxt else None)


@router.post("/{webhook_id}/deliveries/{delivery_id}/replay", response_model=DeliveryRead, responses=errors(409))
async def replay_delivery(
    webhook_id: Id, delivery_id: Id, session: SessionDep, state: StateDep, principal: CanManageWebhooks
) -> DeliveryRead:
    """Send the delivery again now (same `X-Kefu-Delivery`, a fresh timestamp and signature) and answer it
    with this attempt in its log. 409 while another attempt of it is under way."""
    await service.get_delivery(session, principal.account_id, webhook_id, delivery_id)
    await session.close()  # no connection held while the receiver answers (objects stay loaded)
    await attempt(state.sessionmaker, state.settings, delivery_id, replay=True)
    delivery = await service.get_delivery(session, principal.account_id, webhook_id, delivery_id)
    await session.refresh(delivery)
    logs = await service.attempts_of(session, [delivery.id])
    return delivery_read(delivery, logs.get(delivery.id, []))
