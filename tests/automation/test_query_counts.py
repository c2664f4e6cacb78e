"""The automation list endpoints run a fixed number of SQL queries, whatever the number of rows."""

from __future__ import annotations

from kefu.automation.models import RuleRun
from tests.conversations.test_query_counts import count_queries, listeners_idle
from tests.support.factories import World

RULE = {"name": "r", "event_type": "conversation.labels_changed", "actions": [{"type": "add_label", "label": "x"}]}


async def _counts(api: World, n: int) -> tuple[int, int]:
    ids = []
    for _ in range(n):
        r = await api.http.post("/api/v1/automation/rules", json=RULE)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    async with api.server.state.sessionmaker() as session:  # runs as the listener logs them
        for k, rule_id in enumerate(ids):
            session.add(
                RuleRun(
                    account_id=api.account_id,
                    rule_id=rule_id,
                    event_id=k + 1,
                    event_type=RULE["event_type"],
                    outcome="ran",
                    results=[{"action": "add_label", "ok": True, "detail": "label x"}],
                )
            )
        await session.commit()
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
