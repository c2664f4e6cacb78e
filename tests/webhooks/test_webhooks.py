"""Outbound webhooks over the API, on SQLite and PostgreSQL (there a `kefu worker` process delivers): a
loopback receiver checks each signature with its own HMAC code; deliveries follow the subscription, a
failing or slow receiver is retried with the same X-Kefu-Delivery and the delivery is made once; replay;
bad input is a 422 that names the problem and saves nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kefu.core import clock
from kefu.core.eventlog import Event
from kefu.core.jobs import InProcessRunner, JobContext
from kefu.webhooks.models import WebhookDelivery
from kefu.webhooks.tasks import deliver_due
from tests.support.factories import World
from tests.webhooks.receiver import Receiver, listener_placed, serve

SECRET = "test-webhook-secret-0123456789"


@pytest.fixture
async def receiver(api: World) -> AsyncIterator[Receiver]:
    await listener_placed(api.server.state)
    async with serve(Receiver(secret=SECRET)) as r:
        yield r


async def _allow(api: World, receiver: Receiver) -> None:
    r = await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": [receiver.host]})
    assert r.status_code == 200, r.text


async def _webhook(api: World, receiver: Receiver, events: list[str], **extra: Any) -> dict[str, Any]:
    await _allow(api, receiver)
    body = {"url": receiver.url, "events": events, "secret": SECRET, **extra}
    r = await api.http.post("/api/v1/webhooks", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _customer_message(api: World, text: str = "你好，我的订单到哪了？") -> dict[str, Any]:
    inbox = await api.inbox(bot_enabled=False)
    visitor = await api.visitor(inbox)
    return await visitor.say(text)


async def _deliveries(api: World, webhook_id: int, settled: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The delivery log once `settled` deliveries are no longer pending."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        r = await api.http.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        if len([d for d in items if d["status"] != "pending"]) >= settled or loop.time() > end:
            return items
        await asyncio.sleep(0.1)


async def test_crud_shows_the_secret_once_and_checks_events_and_url(api: World, receiver: Receiver) -> None:
    await _allow(api, receiver)
    r = await api.http.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["message.created"]})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert (created["url"], created["events"], created["active"]) == (receiver.url, ["message.created"], True)
    got = (await api.http.get(f"/api/v1/webhooks/{created['id']}")).json()
    assert got["secret"] == "********"
    assert [w["secret"] for w in (await api.http.get("/api/v1/webhooks")).json()] == ["********"]

    r = await api.http.patch(
        f"/api/v1/webhooks/{created['id']}",
        json={"events": ["contact.updated", "conversation.created"], "active": False, "secret": "********"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["events"], r.json()["active"], r.json()["secret"]) == (
        ["conversation.created", "contact.updated"],
        False,
        "********",
    )

    r = await api.http.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["message.created", "order.paid"]})
    assert r.status_code == 422
    assert "unknown event type 'order.paid'" in r.text
    r = await api.http.post(
        "/api/v1/webhooks", json={"url": "https://elsewhere.example/hook", "events": ["message.created"]}
    )
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "url: elsewhere.example:443 is not on this account's list of outbound hosts (Admin → Outbound hosts)"
    )
    r = await api.http.post("/api/v1/webhooks", json={"url": "ftp://127.0.0.1/x", "events": ["message.created"]})
    assert (r.status_code, r.json()["error"]["message"]) == (
        422,
        "url: only http and https URLs may be called, not 'ftp'",
    )
    r = await api.http.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["message.created"], "secret": "short"}
    )
    assert r.status_code == 422 and "16 to 200 printable ASCII" in r.text
    r = await api.http.patch(f"/api/v1/webhooks/{created['id']}", json={"url": "http://10.0.0.9:9/x"})
    assert r.status_code == 422
    assert len((await api.http.get("/api/v1/webhooks")).json()) == 1

    agent = await api.user()
    assert (await agent.client.get("/api/v1/webhooks")).status_code == 403
    assert (await api.http.delete(f"/api/v1/webhooks/{created['id']}")).status_code == 204
    assert (await api.http.get(f"/api/v1/webhooks/{created['id']}")).status_code == 404
    assert (await api.http.get("/api/v1/webhooks")).json() == []


async def test_a_subscribed_event_is_delivered_signed_and_others_are_not(api: World, receiver: Receiver) -> None:
    hook = await _webhook(api, receiver, ["message.created"])
    before = time.time()
    msg = await _customer_message(api)
    got = await receiver.wait_for(1)
    await asyncio.sleep(0.5)  # nothing else of this account is delivered (contact.created, conversation.created …)
    assert len(receiver.requests) == 1
    req = got[0]
    assert req.signature_ok and req.status == 200
    assert before - 5 <= int(req.headers["x-kefu-timestamp"]) <= time.time() + 5
    assert req.headers["content-type"] == "application/json"
    body = req.json
    assert set(body) == {"id", "event", "created_at", "data"}
    assert body["id"] == req.headers["x-kefu-delivery"]
    assert body["event"] == "message.created"
    assert (body["data"]["id"], body["data"]["conversation_id"]) == (msg["id"], msg["conversation_id"])
    assert body["data"]["direction"] == "incoming"
    log = await _deliveries(api, hook["id"], 1)
    assert [(d["delivery_id"], d["event_type"], d["status"], d["attempts"], d["last_status_code"]) for d in log] == [
        (body["id"], "message.created", "delivered", 1, 200)
    ], log
    assert [(a["ok"], a["status_code"], a["replay"]) for a in log[0]["log"]] == [(True, 200, False)]


async def test_a_failing_receiver_is_retried_with_the_same_delivery_id(api: World, receiver: Receiver) -> None:
    receiver.fail_first = 2
    hook = await _webhook(api, receiver, ["conversation.created"])
    await _customer_message(api)
    requests = await receiver.wait_for(3)
    assert [r.status for r in requests] == [500, 500, 200]
    assert len({r.headers["x-kefu-delivery"] for r in requests}) == 1
    assert all(r.signature_ok for r in requests)
    assert len(receiver.accepted()) == 1
    log = await _deliveries(api, hook["id"], 1)
    assert [(d["status"], d["attempts"], d["last_status_code"], d["last_error"]) for d in log] == [
        ("delivered", 3, 200, None)
    ]
    assert [(a["status_code"], a["error"]) for a in log[0]["log"]] == [
        (500, "the receiver answered HTTP 500"),
        (500, "the receiver answered HTTP 500"),
        (200, None),
    ]
    await asyncio.sleep(0.8)
    assert len(receiver.requests) == 3  # delivered once: no further attempt


async def test_a_timeout_is_a_failure_and_a_replay_sends_it_again(api: World, receiver: Receiver) -> None:
    receiver.delay_s = 2.5  # the test settings give a receiver 2 s
    hook = await _webhook(api, receiver, ["message.created"])
    await _customer_message(api)
    log = await _deliveries(api, hook["id"], 1, timeout=20)
    [delivery] = log
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("failed", 3, None)
    assert delivery["last_error"].endswith("timed out after 2 s")
    assert len(receiver.requests) == 3

    receiver.delay_s = 0
    r = await api.http.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/replay")
    assert r.status_code == 200, r.text
    replayed = r.json()
    assert (replayed["status"], replayed["attempts"], replayed["last_status_code"]) == ("delivered", 4, 200)
    assert [a["replay"] for a in replayed["log"]] == [False, False, False, True]
    last = receiver.requests[-1]
    assert last.signature_ok and last.headers["x-kefu-delivery"] == delivery["delivery_id"]
    assert last.json["id"] == delivery["delivery_id"]

    other = await api.http.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{10**12}/replay")
    assert other.status_code == 404


async def test_an_inactive_webhook_gets_nothing(api: World, receiver: Receiver) -> None:
    hook = await _webhook(api, receiver, ["message.created"], active=False)
    await _customer_message(api)
    await asyncio.sleep(1.0)
    assert receiver.requests == []
    assert (await api.http.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json() == {
        "items": [],
        "next_cursor": None,
    }


async def test_a_due_delivery_whose_job_was_lost_is_caught_up_once(api: World, receiver: Receiver) -> None:
    """webhooks.deliver_due finds a pending delivery nobody enqueued; attempts claim it, so the catch-up
    here and the server's own periodic run together POST it once."""
    hook = await _webhook(api, receiver, ["message.created"], active=False)
    state = api.server.state
    async with state.sessionmaker() as session:
        event_id = (
            await session.execute(select(func.max(Event.id)).where(Event.account_id == api.account_id))
        ).scalar()
        session.add(
            WebhookDelivery(
                account_id=api.account_id,
                webhook_id=hook["id"],
                uid="lost-job-delivery",
                event_id=event_id,
                event_type="message.created",
                status="pending",
                attempts=0,
                next_attempt_at=clock.now() - timedelta(seconds=30),
            )
        )
        await session.commit()
    assert (await api.http.patch(f"/api/v1/webhooks/{hook['id']}", json={"active": True})).status_code == 200
    runner = InProcessRunner(run_periodic=False)
    await runner.start(JobContext(state.sessionmaker, state.bus, state.settings))
    try:
        assert await deliver_due(JobContext(state.sessionmaker, state.bus, state.settings, runner=runner)) >= 0
        [req] = await receiver.wait_for(1)
        assert req.signature_ok and req.headers["x-kefu-delivery"] == "lost-job-delivery"
        log = await _deliveries(api, hook["id"], 1)
        assert [(d["delivery_id"], d["status"], d["attempts"]) for d in log] == [("lost-job-delivery", "delivered", 1)]
        await asyncio.sleep(0.5)
        assert len(receiver.requests) == 1
    finally:
        await runner.stop()
