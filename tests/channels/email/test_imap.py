"""Polling a real IMAP server (dovecot on loopback): new mail is stored once and marked \\Seen, a second
poll stores nothing, UIDs are remembered per mailbox, a failing login is recorded, not raised."""

from __future__ import annotations

import asyncio
import contextlib

from kefu.channels.email.idle import watch_inbox
from kefu.channels.email.imap import poll_all, poll_inbox
from kefu.channels.email.models import EmailMailbox
from tests.channels.email.conftest import PASSWORD, Dovecot, fixture
from tests.channels.email.helpers import all_messages, email_inbox, mail
from tests.support.factories import World


async def _imap_inbox(api: World, dovecot: Dovecot, user: str, password: str = PASSWORD) -> dict[str, object]:
    return await email_inbox(
        api, imap_host="127.0.0.1", imap_port=dovecot.port, imap_tls=False, imap_username=user, imap_password=password
    )


async def test_the_poll_fetches_new_mail_once_and_marks_it_seen(api: World, dovecot: Dovecot) -> None:
    user = dovecot.mailbox()
    dovecot.append(user, mail(message_id="<old-1@example.com>", body="read long ago"), seen=True)
    dovecot.append(user, fixture("plain.eml"))
    dovecot.append(user, fixture("gbk_chinese.eml"))
    inbox = await _imap_inbox(api, dovecot, user)
    state = api.server.state

    first = await poll_inbox(state, int(inbox["id"]))  # type: ignore[call-overload]
    assert (first.busy, first.error, first.skipped, first.idle_supported) == (False, None, [], True)
    contents = sorted(m["content"] for m in await all_messages(api, inbox))
    assert contents == [
        "Hello,\n\nmy order 20261207001 has not arrived yet. Can you check?\n\nLi Wei",
        "你好，\n\n我的订单还没有收到，啰嗦一句：请尽快处理。",
    ]  # the mail already read before the inbox existed is left alone
    assert dovecot.unseen(user) == []
    again = await poll_inbox(state, int(inbox["id"]))  # type: ignore[call-overload]
    assert (again.fetched, again.stored) == (0, 0)

    dovecot.append(user, fixture("plain.eml"))  # the same Message-ID once more: fetched, not stored
    dovecot.append(user, b"this is not a mail")
    dovecot.append(user, fixture("reply_en.eml"))
    third = await poll_inbox(state, int(inbox["id"]))  # type: ignore[call-overload]
    assert (third.fetched, third.stored, len(third.skipped)) == (3, 1, 1)
    async with state.sessionmaker() as session:
        box = await session.get(EmailMailbox, inbox["id"])
        assert box is not None
        assert (box.last_uid, box.leased_until, box.last_error, box.idle_supported) == (6, None, None, True)
    assert len(await all_messages(api, inbox)) == 3 and dovecot.unseen(user) == []


async def test_a_wrong_password_is_recorded_and_other_mailboxes_still_polled(api: World, dovecot: Dovecot) -> None:
    bad_user, good_user = dovecot.mailbox(), dovecot.mailbox()
    dovecot.append(good_user, fixture("plain.eml"))
    bad = await _imap_inbox(api, dovecot, bad_user, password="wrong-password")
    good = await _imap_inbox(api, dovecot, good_user)
    results = {r.inbox_id: r for r in await poll_all(api.server.state)}
    assert results[int(good["id"])].stored == 1  # type: ignore[call-overload]
    error = results[int(bad["id"])].error  # type: ignore[call-overload]
    assert error is not None and error.startswith("_ImapError: login: NO")
    async with api.server.state.sessionmaker() as session:
        box = await session.get(EmailMailbox, bad["id"])
        assert box is not None and box.last_error == error and box.leased_until is None


async def test_idle_takes_new_mail_in_without_waiting_for_a_poll(api: World, dovecot: Dovecot) -> None:
    user = dovecot.mailbox()
    dovecot.append(user, fixture("plain.eml"))
    inbox = await _imap_inbox(api, dovecot, user)
    watcher = asyncio.create_task(watch_inbox(api.server.state, int(inbox["id"]), renew_s=5))  # type: ignore[call-overload]
    try:
        assert [m["client_message_id"] for m in await _arrived(api, inbox, 1)] == ["plain-1@mail.example.com"]
        dovecot.append(user, fixture("reply_en.eml"))  # announced by the server while the watcher idles
        got = await _arrived(api, inbox, 2)
        assert [m["client_message_id"] for m in got] == ["plain-1@mail.example.com", "reply-en-1@mail.example.com"]
        for _ in range(100):  # marked \Seen right after it is stored
            if not dovecot.unseen(user):
                break
            await asyncio.sleep(0.05)
        assert dovecot.unseen(user) == []
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _arrived(api: World, inbox: dict[str, object], count: int, timeout: float = 15.0) -> list[dict[str, object]]:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        got = await all_messages(api, inbox)  # type: ignore[arg-type]
        if len(got) >= count or loop.time() > end:
            return got
        await asyncio.sleep(0.1)
