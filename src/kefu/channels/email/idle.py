"""IMAP IDLE: new mail within seconds instead of at the next poll, for mailboxes whose server offers it.

A watcher holds one connection per mailbox in IDLE (RFC 2177), renewed every `IDLE_RENEW_S`. When the
server pushes `EXISTS` (new mail), the watcher runs the ordinary poll of that mailbox (imap.poll_inbox: its
lease, UIDs and once-per-Message-ID storage), so IDLE only changes when mail is fetched, never how. The
periodic poll goes on beside it as the safety net. A watcher whose connection fails waits
`RETRY_S` and connects again; one whose server does not offer IDLE ends (the polls go on).

`Poller` (imap.py) starts a watcher for each email inbox with IMAP whose last poll saw the IDLE capability
(`email_mailboxes.idle_supported`), when `KEFU_EMAIL_IDLE` is on (default), and stops the watchers of
inboxes that no longer have IMAP. With several `kefu serve` nodes each node holds a connection per mailbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aioimaplib

from kefu.channels.email import imap
from kefu.channels.email.config import EmailInboxConfig
from kefu.channels.models import Inbox
from kefu.core.state import AppState

log = logging.getLogger("kefu.email.idle")
IDLE_RENEW_S = 25 * 60.0  # under the 29 minutes after which servers may end an idle connection
RETRY_S = 30.0


async def watch_inbox(state: AppState, inbox_id: int, renew_s: float = IDLE_RENEW_S) -> None:
    """Hold the mailbox in IDLE and poll it whenever the server announces new mail; until cancelled."""
    while True:
        try:
            if not await _watch_once(state, inbox_id, renew_s):
                return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("IDLE on the mailbox of inbox %s failed (%s); reconnecting in %ss", inbox_id, exc, RETRY_S)
        await asyncio.sleep(RETRY_S)


async def _watch_once(state: AppState, inbox_id: int, renew_s: float) -> bool:
    """One connection's life; False when there is nothing to watch (no IMAP, or no IDLE)."""
    async with state.sessionmaker() as session:
        inbox = await session.get(Inbox, inbox_id)
        config = EmailInboxConfig.model_validate(inbox.config) if inbox is not None else None
    if config is None or not config.imap_host:
        return False
    client = await imap.connect(config)
    try:
        if not client.has_capability("IDLE"):
            return False
        imap.ok(await client.select("INBOX"), "select INBOX")
        await imap.poll_inbox(state, inbox_id)  # what arrived while no one was watching
        while True:
            idle = await client.idle_start(timeout=renew_s)
            push = await client.wait_server_push(timeout=renew_s + imap.IMAP_TIMEOUT_S)
            client.idle_done()
            await asyncio.wait_for(idle, imap.IMAP_TIMEOUT_S)
            if push != aioimaplib.STOP_WAIT_SERVER_PUSH and any(b"EXISTS" in bytes(line) for line in push):
                await imap.poll_inbox(state, inbox_id)
    finally:
        await _close(client)


async def _close(client: aioimaplib.IMAP4) -> None:
    """End IDLE (DONE) if it is on — a server answers nothing else meanwhile — then log out."""
    with contextlib.suppress(Exception):
        if client.has_pending_idle():
            client.idle_done()
        await asyncio.wait_for(client.logout(), 5)


class Watchers:
    """The node's IDLE watchers, one task per inbox."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def sync(self, inbox_ids: set[int]) -> None:
        for inbox_id in set(self.tasks) - inbox_ids:
            self.tasks.pop(inbox_id).cancel()
        for inbox_id in inbox_ids:
            task = self.tasks.get(inbox_id)
            if task is None or task.done():
                self.tasks[inbox_id] = asyncio.create_task(watch_inbox(self.state, inbox_id))

    async def stop(self) -> None:
        tasks = list(self.tasks.values())
        self.tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
