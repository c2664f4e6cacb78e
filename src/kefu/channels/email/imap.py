"""Polling email inboxes' IMAP mailboxes (aioimaplib): new mail in INBOX → the inbound path → \\Seen.

`kefu serve` runs the poller (poller.py, every `KEFU_EMAIL_POLL_S`, 30 s): the bot answers in the serving process (its
hooks live on the app state), so mail is taken in there, not in `kefu worker`. Each node polls; a lease
row per mailbox (`email_mailboxes.leased_until`, claimed by one conditional UPDATE) lets one node poll a
mailbox at a time. Per mailbox it remembers UIDVALIDITY and the last UID handed on: a poll asks for
`UID last+1:*` (the first poll of a folder, or after UIDVALIDITY changed: the UNSEEN mail), fetches each
with BODY.PEEK[], stores it (once per Message-ID, so a crash between storing and remembering the UID
stores nothing twice), remembers its UID and marks it \\Seen. A mail the inbound path refuses (not a mail,
no sender) is skipped with a log line; a database or server failure ends the poll and the next one
starts again from the last remembered UID.

IDLE: a poll records whether the server offers it (`email_mailboxes.idle_supported`); idle.py then holds
the mailbox in IDLE and runs this same poll when the server announces new mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aioimaplib
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from kefu.channels.email.config import EmailInboxConfig
from kefu.channels.email.inbound import receive_mail
from kefu.channels.email.models import EmailMailbox
from kefu.channels.models import Inbox
from kefu.core import clock
from kefu.core.constants import ChannelType
from kefu.core.errors import KefuError
from kefu.core.state import AppState

log = logging.getLogger("kefu.email.imap")
LEASE_S = 300
MAX_PER_POLL = 50
IMAP_TIMEOUT_S = 30.0
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_UID = re.compile(rb"FETCH \(.*UID (\d+)")


@dataclass
class PollResult:
    inbox_id: int
    busy: bool = False  # another node holds the mailbox's lease
    fetched: int = 0
    stored: int = 0  # new messages (a re-fetched mail is fetched, not stored)
    skipped: list[int] = field(default_factory=list)  # UIDs the inbound path refused
    idle_supported: bool = False
    error: str | None = None


async def poll_all(state: AppState) -> list[PollResult]:
    async with state.sessionmaker() as session:
        rows = (
            await session.execute(select(Inbox.id, Inbox.config).where(Inbox.channel_type == ChannelType.EMAIL))
        ).all()
    results = []
    for inbox_id, config in rows:
        if (config or {}).get("imap_host"):
            results.append(await poll_inbox(state, inbox_id))
    return results


async def poll_inbox(state: AppState, inbox_id: int) -> PollResult:
    """One poll of one inbox's mailbox (a no-op answer when another node is polling it)."""
    result = PollResult(inbox_id)
    if not await _claim(state, inbox_id):
        result.busy = True
        return result
    try:
        async with state.sessionmaker() as session:
            inbox = await session.get(Inbox, inbox_id)
            box = await session.get(EmailMailbox, inbox_id)
            assert box is not None
            key, config = (inbox.public_key, EmailInboxConfig.model_validate(inbox.config)) if inbox else ("", None)
            validity, last_uid = box.uidvalidity, box.last_uid
        if config is None or not config.imap_host:
            return result
        try:
            await asyncio.wait_for(_poll(state, inbox_id, key, config, validity, last_uid, result), IMAP_TIMEOUT_S * 4)
        except (aioimaplib.Abort, aioimaplib.CommandTimeout, OSError, TimeoutError, _ImapError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("polling the mailbox of inbox %s failed: %s", inbox_id, result.error)
        except Exception as exc:  # our side failed: logged, the next poll starts from the last stored UID
            result.error = f"{type(exc).__name__}: {exc}"[:500]
            log.exception("polling the mailbox of inbox %s failed", inbox_id)
        return result
    finally:
        await _release(state, inbox_id, result)


class _ImapError(Exception):
    pass


def ok(response: Any, what: str) -> Any:
    """The response of a command that succeeded; `_ImapError` with the server's words otherwise."""
    if response.result != "OK":
        raise _ImapError(
            f"{what}: {response.result} {b' '.join(bytes(x) for x in response.lines[-1:]).decode(errors='replace')}"
        )
    return response


async def _poll(
    state: AppState,
    inbox_id: int,
    key: str,
    config: EmailInboxConfig,
    validity: int | None,
    last_uid: int,
    result: PollResult,
) -> None:
    client = await connect(config)
    try:
        result.idle_supported = client.has_capability("IDLE")
        selected = ok(await client.select("INBOX"), "select INBOX")
        found = next((m for line in selected.lines if (m := _UIDVALIDITY.search(bytes(line)))), None)
        server_validity = int(found.group(1)) if found else None
        criteria: tuple[str, ...]
        if validity is None or server_validity != validity:
            criteria, last_uid = ("UNSEEN",), 0
            await _remember(state, inbox_id, server_validity, 0)
        else:
            criteria = ("UID", f"{last_uid + 1}:*")
        searched = ok(await client.uid_search(*criteria), "search")
        uids = sorted({int(u) for line in searched.lines[:-1] for u in bytes(line).split() if u.isdigit()})
        for uid in [u for u in uids if u > last_uid][:MAX_PER_POLL]:
            raw = await _fetch(client, uid)
            if raw is None:
                continue
            result.fetched += 1
            try:
                got = await receive_mail(state, key, raw)
                result.stored += sum(1 for r in got if r.created)
            except KefuError as exc:
                if exc.status_code >= 500:  # ours (the database is busy): the next poll tries it again
                    raise
                result.skipped.append(uid)
                log.warning("inbox %s: mail UID %s was not taken in: %s", inbox_id, uid, exc.message)
            await _remember(state, inbox_id, server_validity, uid)
            ok(await client.uid("store", str(uid), "+FLAGS", r"(\Seen)"), "store \\Seen")
    finally:
        with contextlib.suppress(Exception):
            await client.logout()


async def connect(config: EmailInboxConfig) -> Any:
    """A logged-in client of the inbox's IMAP server (its capabilities read after the login)."""
    cls = aioimaplib.IMAP4_SSL if config.imap_tls else aioimaplib.IMAP4
    client = cls(host=config.imap_host, port=config.imap_port_or_default, timeout=IMAP_TIMEOUT_S)
    await client.wait_hello_from_server()
    try:
        ok(await client.login(config.imap_username or "", config.imap_password or ""), "login")
    except BaseException:
        with contextlib.suppress(Exception):
            await client.logout()
        raise
    return client


async def _fetch(client: Any, uid: int) -> bytes | None:
    response = ok(await client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), "fetch")
    lines = response.lines
    for i, line in enumerate(lines[:-1]):
        if isinstance(line, bytes) and _FETCH_UID.search(line) and isinstance(lines[i + 1], bytearray):
            return bytes(lines[i + 1])
    return None


async def _claim(state: AppState, inbox_id: int) -> bool:
    now = clock.now()
    async with state.sessionmaker() as session:
        if await session.get(EmailMailbox, inbox_id) is None:
            try:
                session.add(EmailMailbox(inbox_id=inbox_id, last_uid=0))
                await session.commit()
            except IntegrityError:
                await session.rollback()
        claimed = await session.execute(
            update(EmailMailbox)
            .where(
                EmailMailbox.inbox_id == inbox_id,
                or_(EmailMailbox.leased_until.is_(None), EmailMailbox.leased_until < now),
            )
            .values(leased_until=now + timedelta(seconds=LEASE_S))
        )
        await session.commit()
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def _remember(state: AppState, inbox_id: int, validity: int | None, uid: int) -> None:
    async with state.sessionmaker() as session:
        await session.execute(
            update(EmailMailbox).where(EmailMailbox.inbox_id == inbox_id).values(uidvalidity=validity, last_uid=uid)
        )
        await session.commit()


async def _release(state: AppState, inbox_id: int, result: PollResult) -> None:
    if result.busy:
        return
    async with state.sessionmaker() as session:
        await session.execute(
            update(EmailMailbox)
            .where(EmailMailbox.inbox_id == inbox_id)
            .values(
                leased_until=None,
                last_polled_at=clock.now(),
                last_error=result.error,
                idle_supported=result.idle_supported,
            )
        )
        await session.commit()
