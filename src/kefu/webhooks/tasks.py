"""Jobs of kefu.webhooks: `webhooks.deliver` (one attempt of one delivery; enqueued when the delivery is
written and again, with a delay, after each failed attempt) and `webhooks.deliver_due` (every 10 s: the
deliveries whose attempt is due but whose job was lost — the database is the truth)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select

from kefu.core import clock
from kefu.core.jobs import JobContext, job, periodic
from kefu.webhooks.models import DeliveryStatus, WebhookDelivery
from kefu.webhooks.sending import attempt

log = logging.getLogger("kefu.webhooks")
DELIVER_JOB = "webhooks.deliver"
DUE_GRACE_S = 5.0  # a delivery due this long ago has missed its job
DUE_BATCH = 200


@job(DELIVER_JOB)
async def deliver(ctx: JobContext, delivery_id: int) -> str | None:
    """One attempt; returns the status it left the delivery in (None: nothing was due)."""
    done = await attempt(ctx.sessionmaker, ctx.settings, delivery_id)
    if done is None:
        return None
    if done.retry_in is not None:
        assert ctx.runner is not None, "a delivery job runs under a job runner"
        await ctx.runner.enqueue(DELIVER_JOB, delay_s=done.retry_in, delivery_id=delivery_id)
    elif done.status == DeliveryStatus.FAILED:
        log.warning("webhook delivery %s failed for good", delivery_id)
    return done.status


@periodic("webhooks.deliver_due", every_s=10)
async def deliver_due(ctx: JobContext) -> int:
    """Enqueue the attempts that are due and not under way; each attempt claims its delivery, so a
    duplicate is harmless."""
    now = clock.now()
    async with ctx.sessionmaker() as session:
        q = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now - timedelta(seconds=DUE_GRACE_S),
                or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(DUE_BATCH)
        )
        ids = list((await session.execute(q)).scalars())
    assert ctx.runner is not None, "a periodic job runs under a job runner"
    for delivery_id in ids:
        await ctx.runner.enqueue(DELIVER_JOB, delivery_id=delivery_id)
    return len(ids)
