"""What `kefu serve` runs for email inboxes' mailboxes: a poll of each every `KEFU_EMAIL_POLL_S`
(imap.py), and IDLE watchers for those whose server offers it (idle.py, unless `KEFU_EMAIL_IDLE=0`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select

from kefu.channels.email.idle import Watchers
from kefu.channels.email.imap import poll_all
from kefu.channels.email.models import EmailMailbox
from kefu.core.state import AppState

log = logging.getLogger("kefu.email")


class Poller:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.watchers = Watchers(state)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Poller:
        self._task = asyncio.create_task(self._loop())
        return self

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.state.settings.email_poll_s)
            try:
                results = await poll_all(self.state)
                if self.state.settings.email_idle:
                    self.watchers.sync(await self._idle_inboxes({r.inbox_id for r in results}))
            except Exception:
                log.exception("polling email inboxes failed")

    async def _idle_inboxes(self, polled: set[int]) -> set[int]:
        async with self.state.sessionmaker() as session:
            q = select(EmailMailbox.inbox_id).where(EmailMailbox.idle_supported.is_(True))
            return polled & set((await session.scalars(q)).all())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.watchers.stop()
