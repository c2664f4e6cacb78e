"""The durable listener of kefu.webhooks (core/listeners.py), imported by kefu.main.register_listeners:
every event of a type some active webhook of its account subscribes to becomes one delivery per webhook
(unique per webhook and event, so the log is read at least once and a delivery is written once), and its
first attempt is enqueued after the listener's transaction commits. It starts at the end of the log
(`start="latest"`): a webhook receives events that happen after it was created, so the history before
the listener's first run is nothing it needs to read."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.core.constants import EventType
from kefu.core.jobs import JobRunner
from kefu.core.listeners import ListenedEvent, listener, listener_context
from kefu.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from kefu.webhooks.tasks import DELIVER_JOB

_PENDING = "kefu.webhooks.enqueue"
_TASKS: set[asyncio.Task[Any]] = set()


@listener("webhooks.deliveries", events={str(e) for e in EventType}, start="latest")
async def webhook_deliveries(session: AsyncSession, event: ListenedEvent) -> None:
    """A delivery for each active webhook of the account that subscribes to the event's type and existed
    when the event happened."""
    q = select(Webhook).where(Webhook.account_id == event.account_id, Webhook.active.is_(True))
    hooks = [
        w
        for w in (await session.execute(q.order_by(Webhook.id))).scalars()
        if event.type in w.events and w.created_at <= event.created_at
    ]
    if not hooks:
        return
    now = clock.now()
    rows = [
        WebhookDelivery(
            account_id=event.account_id,
            webhook_id=w.id,
            uid=str(uuid.uuid4()),
            event_id=event.id,
            event_type=event.type,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        for w in hooks
    ]
    session.add_all(rows)
    await session.flush()
    ctx = listener_context()
    if ctx is not None and ctx.runner is not None:
        _enqueue_after_commit(session, ctx.runner, [r.id for r in rows])


def _enqueue_after_commit(session: AsyncSession, runner: JobRunner, delivery_ids: list[int]) -> None:
    """Enqueue the first attempts once the dispatcher commits (dropped if it rolls back; the periodic
    `webhooks.deliver_due` catches anything lost, e.g. the ids of a handler whose savepoint was undone)."""
    sync = session.sync_session
    pending: list[int] | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = []
        loop = asyncio.get_running_loop()

        def committed(_: Any) -> None:
            if sync.in_nested_transaction():
                return
            ids = sync.info.pop(_PENDING, [])
            if ids:
                task = loop.create_task(_enqueue(runner, ids))
                _TASKS.add(task)
                task.add_done_callback(_TASKS.discard)

        def rolled_back(_: Any) -> None:
            if not sync.in_nested_transaction():
                sync.info.pop(_PENDING, None)

        sa_event.listen(sync, "after_commit", committed)
        sa_event.listen(sync, "after_rollback", rolled_back)
    pending.extend(delivery_ids)


async def _enqueue(runner: JobRunner, delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        await runner.enqueue(DELIVER_JOB, delivery_id=delivery_id)
