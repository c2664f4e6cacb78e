"""The webhook list and a webhook's delivery log run a fixed number of SQL queries, whatever the number of
rows (each delivery's attempts come in one query for the page)."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.core import clock
from kefu.core.eventlog import Event
from kefu.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.conversations.test_query_counts import count_queries, listeners_idle
from tests.support.factories import World, uniq


async def _counts(api: World, n: int) -> tuple[int, int]:
    await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": ["127.0.0.1:9"]})
    hooks = []
    for _ in range(n):
        body = {"url": "http://127.0.0.1:9/x", "events": ["message.created"], "active": False}
        r = await api.http.post("/api/v1/webhooks", json=body)
        assert r.status_code == 201, r.text
        hooks.append(r.json()["id"])
    async with api.server.state.sessionmaker() as session:
        event_id = (await session.execute(select(func.max(Event.id)))).scalar() or 1
        for k in range(n):
            d = WebhookDelivery(
                account_id=api.account_id, webhook_id=hooks[0], uid=uniq("d-"), event_id=event_id + 1000 + k,
                event_type="message.created", status="failed", attempts=2,
            )  # fmt: skip
            session.add(d)
            await session.flush()
            for code in (500, 502):
                session.add(
                    WebhookAttempt(
                        account_id=api.account_id, delivery_id=d.id, started_at=clock.now(), duration_ms=3,
                        status_code=code, error=f"HTTP {code}", ok=False,
                    )
                )  # fmt: skip
        await session.commit()
    await listeners_idle(api)
    with count_queries(api) as list_q:
        listed = (await api.http.get("/api/v1/webhooks")).json()
    with count_queries(api) as log_q:
        log = (await api.http.get(f"/api/v1/webhooks/{hooks[0]}/deliveries", params={"limit": 100})).json()["items"]
    assert len(listed) >= n and len(log) == n and all(len(d["log"]) == 2 for d in log)
    return len(list_q), len(log_q)


async def test_webhook_and_delivery_lists_query_count_is_constant(api: World) -> None:
    # auth (token + last-used check) + the rows; the log: auth + the webhook + the page + its attempts
    assert await _counts(api, 2) == await _counts(api, 6) == (2, 4)
