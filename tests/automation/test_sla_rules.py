"""An SLA breach is an event rules act on: raise the priority and label the conversation."""

from __future__ import annotations

from kefu.core.constants import EventType
from kefu.core.events import Actor, commit, emit
from tests.automation.test_runner import _conv, _rule, _runs, _until
from tests.support.factories import World, uniq


async def _breach(api: World, conv: dict[str, object], metric: str) -> None:
    """What kefu.sla emits when a clock passes its deadline (tests/sla/test_clocks.py tests that part)."""
    payload = {
        "subject_type": "conversation",
        "subject_id": conv["id"],
        "metric": metric,
        "due_at": "2026-12-07T10:00:00+00:00",
        "priority": conv["priority"],
    }
    async with api.server.state.sessionmaker() as session:
        emit(
            session,
            api.account_id,
            EventType.SLA_BREACHED,
            payload,
            actor=Actor.system(),
            conversation_id=int(str(conv["id"])),
            contact_id=int(str(conv["contact_id"])),
        )
        await commit(session)


async def test_a_first_response_breach_raises_the_priority_and_labels(api: World) -> None:
    label = uniq("sla-breached-")
    rule = await _rule(
        api,
        "sla.breached",
        [{"type": "set_priority", "priority": "p1"}, {"type": "add_label", "label": label}],
        [{"field": "sla.metric", "op": "eq", "value": "first_response"}],
        name="Breach → P1",
    )
    visitor = await api.visitor(await api.inbox(), name=uniq("Late "))
    conv = await _conv(api, (await visitor.say("hello?"))["conversation_id"])
    await _breach(api, conv, "resolution")  # another metric: the rule does not match
    await _breach(api, conv, "first_response")

    async def done() -> dict[str, object] | None:
        got = await _conv(api, int(str(conv["id"])))
        return got if got["priority"] == "p1" and label in got["labels"] else None

    got = await _until(done)
    assert (got["priority"], got["labels"]) == ("p1", [label])
    (run,) = await _until(lambda: _runs(api, rule))
    assert [(x["action"], x["ok"]) for x in run["results"]] == [("set_priority", True), ("add_label", True)]
