"""Background jobs of conversations, run directly with a real JobContext against the live database."""

from __future__ import annotations

from datetime import timedelta

from kefu.conversations.tasks import auto_resolve
from kefu.core import clock
from kefu.core.jobs import JobContext
from tests.support.factories import World


async def test_auto_resolve_resolves_only_idle_conversations_and_says_why(api: World) -> None:
    state = api.server.state
    _, idle = await api.conversation("idle one")
    ctx = JobContext(state.sessionmaker, state.bus, state.settings.model_copy(update={"auto_resolve_idle_hours": 1}))
    off = JobContext(state.sessionmaker, state.bus, state.settings)
    clock.freeze(clock.now() + timedelta(hours=2))
    try:
        _, fresh = await api.conversation("fresh one")  # created "now" on the frozen clock: not idle
        assert await auto_resolve(off) == 0  # disabled by default
        assert await auto_resolve(ctx) >= 1
    finally:
        clock.freeze(None)
    got = (await api.http.get(f"/api/v1/conversations/{idle['id']}")).json()
    assert got["status"] == "resolved"
    assert (await api.http.get(f"/api/v1/conversations/{fresh['id']}")).json()["status"] == "open"
    msgs = (await api.http.get(f"/api/v1/conversations/{idle['id']}/messages")).json()
    assert (msgs[-1]["kind"], msgs[-1]["content"], msgs[-1]["meta"]) == (
        "system",
        "status:resolved:idle",
        {"reason": "idle"},
    )
