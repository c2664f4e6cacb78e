"""The automation list endpoints run a fixed number of SQL queries, whatever the number of rows."""

from __future__ import annotations

from tests.conversations.test_query_counts import count_queries, listeners_idle
from tests.support.factories import World

RULE = {"name": "r", "event_type": "conversation.labels_changed", "actions": [{"type": "add_label", "label": "x"}]}


async def _counts(api: World, n: int) -> tuple[int, int]:
    for _ in range(n):
        r = await api.http.post("/api/v1/automation/rules", json=RULE)
        assert r.status_code == 201, r.text
    _, conv = await api.conversation()
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/labels", json={"label": "go"})
    assert r.status_code == 200, r.text
    await listeners_idle(api)
    with count_queries(api) as rules_q:
        rules = (await api.http.get("/api/v1/automation/rules")).json()
    with count_queries(api) as runs_q:
        runs = (await api.http.get("/api/v1/automation/runs", params={"limit": 100})).json()["items"]
    assert len(rules) >= n and len(runs) >= n
    return len(rules_q), len(runs_q)


async def test_rule_and_run_lists_query_count_is_constant(api: World) -> None:
    # auth (token + last-used check) + the rows
    assert await _counts(api, 2) == await _counts(api, 7) == (2, 2)
