"""The routing lists run a fixed number of SQL queries, whatever the number of agents and waiting
conversations (no N+1)."""

from __future__ import annotations

from kefu.core.constants import Role
from tests.conversations.test_query_counts import count_queries, listeners_idle
from tests.support.factories import World


async def _counts(api: World, agents: int) -> tuple[int, int]:
    for k in range(agents):
        user = await api.user(Role.AGENT, f"agent {k}")
        r = await api.http.patch(f"/api/v1/routing/agents/{user.id}", json={"capacity": 3})
        assert r.status_code == 200
        await api.conversation(f"customer {k}")
    await listeners_idle(api)
    with count_queries(api) as seen:
        r = await api.http.get("/api/v1/routing/agents")
    assert r.status_code == 200 and len(r.json()) == agents + 1  # and the admin
    with count_queries(api) as queue:
        r = await api.http.get("/api/v1/routing/queue")
    assert r.status_code == 200
    return len(seen), len(queue)


async def test_routing_lists_have_a_constant_query_count(api: World) -> None:
    from tests.support.factories import new_account

    async with new_account(api.server) as other:
        small = await _counts(other, 1)
    big = await _counts(api, 6)
    # the token + users, routing rows, loads, skills, teams, settings; the queue adds the waiting
    # conversations and the transfer rate's two
    assert small == big == (7, 10)
