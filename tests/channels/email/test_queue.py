"""Mail a machine sent (an auto-reply) is stored for the agents but never queued for one; a person's mail
to an inbox without a bot is."""

from __future__ import annotations

import asyncio

from tests.channels.email.conftest import fixture
from tests.channels.email.helpers import conversations, email_inbox, post_mail
from tests.support.factories import World


async def _events(api: World, conversation_id: int) -> list[str]:
    r = await api.http.get("/api/v1/events", params={"conversation_id": conversation_id})
    return [e["type"] for e in r.json()]


async def test_an_auto_reply_is_not_queued_and_a_persons_mail_is(api: World) -> None:
    robot, person = await email_inbox(api), await email_inbox(api, address="sales@shop.example")
    assert (await post_mail(api, robot, fixture("autoreply.eml"))).status_code == 200
    assert (
        await post_mail(api, person, fixture("plain.eml").replace(b"Li.Wei@Example.com", b"han.mei@example.com"))
    ).status_code == 200
    [auto] = await conversations(api, robot)
    [mail] = await conversations(api, person)
    for _ in range(100):  # the routing listener queues in the background
        if "conversation.queued" in await _events(api, mail["id"]):
            break
        await asyncio.sleep(0.1)
    assert "conversation.queued" in await _events(api, mail["id"])
    assert "conversation.queued" not in await _events(api, auto["id"])  # handled in id order: already decided
