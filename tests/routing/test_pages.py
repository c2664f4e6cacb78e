"""The routing pages over HTTP (both backends): the live queue with its SLA badges and reassignment, the
presence control, the transfer form of the workspace, and Admin → Routing with its bad input."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.core.constants import Role
from kefu.routing.models import AgentRouting, Skill
from tests.conversations.test_query_counts import listeners_idle
from tests.support.factories import World
from tests.web.conftest import login


async def _queued(api: World, text: str = "hello") -> int:
    """A conversation put in the queue directly (as routing.queue does), with an SLA deadline."""
    _, conv = await api.conversation(text)
    async with api.server.state.sessionmaker() as session:
        row = await session.get(Conversation, conv["id"])
        assert row is not None
        row.waiting_since = clock.now() - timedelta(seconds=125)
        row.sla_due_at = clock.now().replace(microsecond=0) + timedelta(minutes=20)
        await session.commit()
        return row.id


async def test_the_queue_page_lists_waiting_conversations_with_sla_badges(api: World) -> None:
    conv_id = await _queued(api)
    await listeners_idle(api)  # the SLA listener keeps sla_due_at: read it once it is done
    async with api.server.state.sessionmaker() as session:
        row = await session.get(Conversation, conv_id)
        assert row is not None and row.sla_due_at is not None
        due = row.sla_due_at.isoformat()
    agent = await api.user(Role.AGENT, "Ann")
    browser = await login(api, api.admin)
    r = await browser.http.get("/app/queue?lang=en")
    assert r.status_code == 200
    assert f'data-sla-due="{due}"' in r.text and '<span class="badge sla-badge sla-ok"' in r.text
    assert f'data-conversation-id="{conv_id}"' in r.text
    assert f'data-agent-id="{agent.id}"' in r.text
    assert 'href="/app/queue"' in r.text  # linked from the main navigation
    assert re.search(r'id="oldest-wait">2:0\d<', r.text)

    r = await browser.post_form(f"/app/queue/{conv_id}/reassign?lang=en", {"user_id": str(agent.id)})
    assert r.status_code == 200
    assert f'data-conversation-id="{conv_id}"' not in r.text
    assert "Nobody is waiting." in r.text
    got = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()
    assert (got["assignee_id"], got["waiting_since"]) == (agent.id, got["waiting_since"])


async def test_agents_get_403_on_the_queue_and_admin_routing(api: World) -> None:
    agent = await api.user(Role.AGENT, "Ann")
    browser = await login(api, agent)
    for path in ("/app/queue", "/app/queue/body", "/admin/routing"):
        r = await browser.http.get(path + "?lang=en")
        assert r.status_code == 403, path
    r = await browser.http.get("/app?lang=en")
    assert 'href="/app/queue"' not in r.text


async def test_presence_control_in_the_workspace(api: World) -> None:
    agent = await api.user(Role.AGENT, "Ann")
    browser = await login(api, agent)
    r = await browser.http.get("/app?lang=en")
    assert '<option value="away" selected>Away</option>' in r.text
    r = await browser.post_form("/app/presence?lang=en", {"presence": "online"})
    assert r.status_code == 200 and '<option value="online" selected>Online</option>' in r.text
    r = await browser.post_form("/app/presence?lang=en", {"presence": "asleep"})
    assert r.status_code == 400
    async with api.server.state.sessionmaker() as session:
        row = await session.get(AgentRouting, agent.id)
        assert row is not None and row.presence == "online"


async def test_transfer_from_the_workspace(api: World) -> None:
    ann = await api.user(Role.AGENT, "Ann")
    bob = await api.user(Role.AGENT, "Bob")
    _, conv = await api.conversation("help")
    browser = await login(api, ann)
    r = await browser.http.get(f"/app?c={conv['id']}&lang=en")
    assert 'id="transfer-reason"' in r.text and f'value="user:{bob.id}"' in r.text
    r = await browser.post_form(f"/app/c/{conv['id']}/transfer?lang=en", {"to": f"user:{bob.id}", "reason": ""})
    assert r.status_code == 400
    assert r.headers.get("X-Kefu-Error") == "bad_request" or "Say why you transfer" in r.text
    r = await browser.post_form(f"/app/c/{conv['id']}/transfer?lang=en", {"to": f"user:{bob.id}", "reason": "billing"})
    assert r.status_code == 200
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()["assignee_id"] == bob.id
    transfers = (await api.http.get(f"/api/v1/conversations/{conv['id']}/transfers")).json()
    assert [(x["to_user_id"], x["reason"]) for x in transfers] == [(bob.id, "billing")]


async def test_admin_routing_page(api: World) -> None:
    agent = await api.user(Role.AGENT, "Ann")
    browser = await login(api, api.admin)
    r = await browser.http.get("/admin/routing?lang=en")
    assert r.status_code == 200 and 'href="/admin/routing"' in r.text
    r = await browser.post_form("/admin/routing/skills", {"name": "billing", "description": "money"})
    assert (r.status_code, r.headers["location"]) == (303, "/admin/routing?done=1")
    r = await browser.post_form("/admin/routing/skills?lang=en", {"name": "billing"})
    assert r.status_code == 409 and "a skill named &#39;billing&#39; already exists" in r.text
    # an unknown skill and a level out of range: an error, and the agent keeps what they had
    r = await browser.post_form(f"/admin/routing/agents/{agent.id}", {"capacity": "3", "skills": "billing:4"})
    assert r.status_code == 303
    r = await browser.post_form(f"/admin/routing/agents/{agent.id}?lang=en", {"capacity": "7", "skills": "cooking:2"})
    assert r.status_code == 400 and "unknown skill: cooking" in r.text
    r = await browser.post_form(f"/admin/routing/agents/{agent.id}?lang=en", {"capacity": "7", "skills": "billing:9"})
    assert r.status_code == 422
    r = await browser.post_form(
        f"/admin/routing/agents/{agent.id}?lang=en",
        {"capacity": "7", "skills": "billing:4", "channel_capacity": "fax:1"},
    )
    assert r.status_code == 400 and "unknown channel: fax" in r.text
    r = await browser.post_form(
        f"/admin/routing/agents/{agent.id}?lang=en",
        {"capacity": "7", "skills": "billing:4", "channel_capacity": "email:x"},
    )
    assert r.status_code == 422
    agents = {a["user_id"]: a for a in (await api.http.get("/api/v1/routing/agents")).json()}
    assert (agents[agent.id]["capacity"], agents[agent.id]["skills"]) == (3, {"billing": 4})
    r = await browser.post_form(
        f"/admin/routing/agents/{agent.id}", {"capacity": "4", "skills": "billing:4", "channel_capacity": "email:2"}
    )
    assert r.status_code == 303
    agents = {a["user_id"]: a for a in (await api.http.get("/api/v1/routing/agents")).json()}
    assert (agents[agent.id]["capacity"], agents[agent.id]["channel_capacity"]) == (4, {"email": 2})
    r = await browser.post_form("/admin/routing/requirements", {"kind": "label", "value": "vip", "skill": "billing"})
    assert r.status_code == 303
    r = await browser.post_form("/admin/routing/settings?lang=en", {"default_capacity": "4", "overflow_from": "999999"})
    assert r.status_code == 400
    assert (await api.http.get("/api/v1/routing/settings")).json()["default_capacity"] == 5
    async with api.server.state.sessionmaker() as session:
        names = (await session.execute(select(Skill.name).where(Skill.account_id == api.account_id))).scalars().all()
    assert list(names) == ["billing"]
    r = await browser.http.get("/admin/routing?lang=en")
    assert "<code>vip</code></td><td>→ <code>billing</code>" in r.text
