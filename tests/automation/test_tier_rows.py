"""Customer tiers on real rows (both databases): recomputed on events by the durable listener, by the API,
and by the periodic job; contact.tier_changed when the segment moves; per-account thresholds."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.jobs import JobContext
from kefu.routing.tier_tasks import tiers_recompute
from tests.support.factories import World


async def _contact(api: World, contact_id: int) -> dict[str, Any]:
    r = await api.http.get(f"/api/v1/contacts/{contact_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _tier_events(api: World) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/events", params={"type": "contact.tier_changed"})
    assert r.status_code == 200, r.text
    return [e["payload"] for e in r.json()]


async def test_updating_a_contact_recomputes_its_segment(api: World) -> None:
    visitor, _conv = await api.conversation()
    r = await api.http.patch(f"/api/v1/contacts/{visitor.contact_id}", json={"attributes": {"revenue": 20000}})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 45
    while (contact := await _contact(api, visitor.contact_id))["segment"] != "strategic":
        assert time.monotonic() < deadline, contact
        await asyncio.sleep(0.2)
    assert (contact["segment_reasons"], contact["churn_risk"]) == (
        ["value_high:20000", "channel:web_widget", "stage_new"],
        False,
    )
    events = [e for e in await _tier_events(api) if e["id"] == visitor.contact_id]
    assert events[-1] == {"id": visitor.contact_id, "tier": "strategic", "previous": "", "churn_risk": False}


async def test_recompute_over_the_api_and_the_account_thresholds(api: World) -> None:
    r = await api.http.post("/api/v1/contacts", json={"name": "Wu", "attributes": {"ltv": 700}})
    assert r.status_code == 201, r.text
    contact_id = r.json()["id"]
    r = await api.http.post(f"/api/v1/contacts/{contact_id}/tier/recompute")
    assert r.status_code == 200, r.text
    assert (r.json()["segment"], r.json()["segment_reasons"]) == ("potential", ["value_none", "stage_new"])
    r = await api.http.put("/api/v1/tiers/config", json={"vip_level": 1})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "tiers: Extra inputs are not permitted"
    r = await api.http.put("/api/v1/tiers/config", json={"high_value": 5, "mid_value": 9})
    assert (r.status_code, r.json()["error"]["message"]) == (
        422,
        "tiers: Value error, mid_value must not be above high_value",
    )
    r = await api.http.get("/api/v1/tiers/config")
    assert (r.json()["value_attribute"], r.json()["high_value"]) == ("revenue", 10000)
    r = await api.http.put("/api/v1/tiers/config", json={"value_attribute": "ltv", "high_value": 500, "mid_value": 100})
    assert r.status_code == 200, r.text
    r = await api.http.post(f"/api/v1/contacts/{contact_id}/tier/recompute")
    assert (r.json()["segment"], r.json()["segment_reasons"]) == ("strategic", ["value_high:700", "stage_new"])
    r = await api.http.post("/api/v1/contacts/987654321/tier/recompute")
    assert r.status_code == 404


async def test_the_periodic_job_finds_customers_gone_quiet(api: World) -> None:
    visitor, conv = await api.conversation()
    r = await api.http.patch(f"/api/v1/contacts/{visitor.contact_id}", json={"attributes": {"revenue": 3000}})
    assert r.status_code == 200, r.text
    state = api.server.state
    long_ago = clock.now() - timedelta(days=120)
    async with state.sessionmaker() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conv["id"])
            .values(created_at=long_ago - timedelta(days=200), last_activity_at=long_ago)
        )
        await session.commit()
    _, fresh = await api.conversation()  # keeps the account active
    ctx = JobContext(state.sessionmaker, state.bus, state.settings)
    got = await tiers_recompute(ctx)
    assert got["accounts"] >= 1 and got["contacts"] >= 2
    contact = await _contact(api, visitor.contact_id)
    assert (contact["segment"], contact["churn_risk"], contact["segment_reasons"]) == (
        "churn_risk",
        True,
        ["value_mid:3000", "channel:web_widget", "stage_at_risk:120"],
    )
    async with state.sessionmaker() as session:
        again = await session.get(Contact, visitor.contact_id)
        assert again is not None and again.segment == "churn_risk"
    del fresh
