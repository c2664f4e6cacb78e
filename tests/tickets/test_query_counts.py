"""The ticket list runs a fixed number of SQL queries, whatever the page size (no N+1)."""

from __future__ import annotations

from tests.conversations.test_query_counts import count_queries
from tests.support.factories import World
from tests.tickets.test_repeat_contacts import _settle

# The durable listeners' dispatcher shares the engine in embedded mode; its catch-up reads only these tables.
DISPATCHER_TABLES = ("listener_cursors", "dead_letters", "FROM events")


async def _queries_for_list(api: World, n: int) -> int:
    _, conv = await api.conversation("你好")
    for i in range(n):
        r = await api.http.post("/api/v1/tickets", json={"subject": f"q{n}-{i}", "conversation_id": conv["id"]})
        assert r.status_code == 201, r.text
    await _settle(api)  # the tickets listener has handled the conversation's events
    with count_queries(api) as seen:
        r = await api.http.get("/api/v1/tickets", params={"q": f"q{n}-"})
    assert len(r.json()["items"]) == n
    return len([s for s in seen if not any(table in s for table in DISPATCHER_TABLES)])


async def test_ticket_list_query_count_is_constant(api: World) -> None:
    # auth + page + linked conversations
    assert await _queries_for_list(api, 2) == await _queries_for_list(api, 9) == 3
