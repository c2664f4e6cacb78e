"""Presence from the workspace socket: an agent whose last workspace socket closed and stayed closed for
the grace period (KEFU_PRESENCE_GRACE_S) becomes away. The socket endpoint calls the hooks installed by
kefu.main (core/hooks.py `agent_socket`), so realtime does not import routing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.core.events import Actor, commit
from kefu.core.state import AppState
from kefu.routing.models import AgentRouting
from kefu.routing.policies import Presence
from kefu.routing.service import _agent_row, do_set_presence

GRACE_JOB = "routing.presence_grace"


async def socket_opened(state: AppState, account_id: int, user_id: int) -> None:
    async with state.sessionmaker() as session:
        row = await _agent_row(session, account_id, user_id, lock=True)
        row.sockets += 1
        await session.commit()


async def socket_closed(state: AppState, account_id: int, user_id: int) -> None:
    async with state.sessionmaker() as session:
        row = await _agent_row(session, account_id, user_id, lock=True)
        row.sockets = max(0, row.sockets - 1)
        row.disconnected_at = clock.now()
        last = row.sockets == 0
        await session.commit()
    if last:
        await state.jobs.enqueue(GRACE_JOB, delay_s=state.settings.presence_grace_s, user_id=user_id)


async def do_away_if_gone(session: AsyncSession, user_id: int, actor: Actor, grace_s: float) -> bool:
    """Away when no workspace socket is open and the last one closed at least `grace_s` ago."""
    q = select(AgentRouting).where(AgentRouting.user_id == user_id).with_for_update()
    row = (await session.execute(q)).scalar_one_or_none()
    gone = (
        row is not None
        and row.sockets == 0
        and row.presence != Presence.AWAY
        and row.disconnected_at is not None
        and clock.now() - row.disconnected_at >= timedelta(seconds=grace_s) - timedelta(milliseconds=50)
    )
    if row is None or not gone:
        await commit(session)
        return False
    await do_set_presence(session, row.account_id, user_id, Presence.AWAY, actor)
    return True


def install_presence(state: AppState) -> None:
    """Subscribe to the workspace socket hooks (create_app calls it once)."""
    state.hooks.agent_socket_opened.append(socket_opened)
    state.hooks.agent_socket_closed.append(socket_closed)
