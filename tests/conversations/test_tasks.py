"""Background jobs of conversations, run directly with a real JobContext against the live database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from kefu.conversations.models import Conversation
from kefu.conversations.tasks import auto_resolve
from kefu.core import clock
from kefu.core.jobs import JobContext
from tests.support.factories import World


async def test_auto_resolve_resolves_only_idle_conversations_and_says_why(api: World) -> None:
    state = api.server.state
    _, idle = await api.conversation("idle one")
    _, fresh = await api.conversation("fresh one")
    # Idle for six years: the threshold below (five) leaves every other test's conversations in the shared
    # database alone (an hour's threshold on a clock moved ahead would resolve them all, one by one).
    async with state.sessionmaker() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == idle["id"])
            .values(last_activity_at=clock.now() - timedelta(days=6 * 365))
        )
        await session.commit()
    five_years = {"auto_resolve_idle_hours": 5 * 365 * 24}
    ctx = JobContext(state.sessionmaker, state.bus, state.settings.model_copy(update=five_years))
    off = JobContext(state.sessionmaker, state.bus, state.settings)
    assert await auto_resolve(off) == 0  # disabled by default
    assert await auto_resolve(ctx) >= 1
    got = (await api.http.get(f"/api/v1/conversations/{idle['id']}")).json()
    assert got["status"] == "resolved"
    assert (await api.http.get(f"/api/v1/conversations/{fresh['id']}")).json()["status"] == "open"
    msgs = (await api.http.get(f"/api/v1/conversations/{idle['id']}/messages")).json()
    assert (msgs[-1]["kind"], msgs[-1]["content"], msgs[-1]["meta"]) == (
        "system",
        "status:resolved:idle",
        {"reason": "idle"},
    )
