"""Replies in an inbox whose channel delivers them (a test adapter that records its sends) go through the
job `channels.deliver_message`: sent at once, sent after transient failures (retried through the job
runner), or failed — visible in the API and in the workspace. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from kefu.channels import delivery
from kefu.conversations.schemas import MessageCreate
from kefu.conversations.service import (
    check_post_agent_message,
    do_post_bot_message,
    do_retry_delivery,
    get_conversation,
)
from kefu.core.constants import ActorType
from kefu.core.events import Actor, bind_bus
from kefu.core.jobs import InProcessRunner, JobContext
from tests.channels.recording import RecordingAdapter, make_recording_inbox, registered
from tests.support.factories import World
from tests.web.conftest import login


@pytest.fixture
def adapter(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingAdapter]:
    monkeypatch.setattr(delivery, "RETRY_DELAYS_S", (0.05, 0.1))  # three attempts in all
    with registered() as recording:
        yield recording


@pytest.fixture
async def runner(api: World) -> AsyncIterator[InProcessRunner]:
    """A job runner in this process (the live server's arq worker, on PostgreSQL, knows no test adapter)."""
    state = api.server.state
    jobs = InProcessRunner(run_periodic=False)
    await jobs.start(JobContext(state.sessionmaker, state.bus, state.settings))
    yield jobs
    await jobs.stop()


async def _conversation(api: World) -> tuple[int, int]:
    """A conversation in an inbox of the recording channel: (conversation id, contact id)."""
    visitor, conv = await api.conversation("能发邮件回复我吗？")
    await make_recording_inbox(api.server.state, conv["inbox_id"])
    return conv["id"], visitor.contact_id


async def _reply(api: World, conv_id: int, text: str, runner: InProcessRunner, kind: str = "text") -> int:
    state = api.server.state
    async with state.sessionmaker() as session:
        bind_bus(session, state.bus)
        _, posted = await check_post_agent_message(
            session,
            api.account_id,
            conv_id,
            MessageCreate(content=text, kind=kind),  # type: ignore[arg-type]
            Actor(ActorType.USER, api.admin.id),
            max_chars=1000,
            jobs=runner,
        )
    return posted.message.id


async def _settled(api: World, conv_id: int, message_id: int, timeout: float = 5.0) -> dict[str, Any]:
    """The message as the API shows it once its delivery is no longer pending."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        msgs = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
        msg = next(m for m in msgs if m["id"] == message_id)
        if msg["delivery_status"] != "pending" or loop.time() > end:
            return msg  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)


async def test_a_reply_is_sent_through_the_adapter_once(
    api: World, adapter: RecordingAdapter, runner: InProcessRunner
) -> None:
    conv_id, contact_id = await _conversation(api)
    message_id = await _reply(api, conv_id, "您好，已经为您查询。", runner)
    msg = await _settled(api, conv_id, message_id)
    assert (msg["delivery_status"], msg["delivery_error"]) == ("sent", None)
    assert [(o.message_id, o.content, o.contact_id, o.conversation_id) for o in adapter.sent] == [
        (message_id, "您好，已经为您查询。", contact_id, conv_id)
    ]
    assert list(adapter.sent[0].identities) == ["widget_visitor"]
    assert adapter.attempts[message_id] == 1
    assert await delivery.deliver_message(runner._ctx, message_id) is None  # type: ignore[arg-type]
    assert adapter.attempts[message_id] == 1  # a duplicate job sends nothing


async def test_a_transient_failure_is_retried_through_the_job_runner_then_sent(
    api: World, adapter: RecordingAdapter, runner: InProcessRunner
) -> None:
    conv_id, _ = await _conversation(api)
    message_id = await _reply(api, conv_id, "fail:2 请稍等", runner)
    msg = await _settled(api, conv_id, message_id)
    assert (msg["delivery_status"], msg["delivery_error"]) == ("sent", None)
    assert adapter.attempts[message_id] == 3
    assert [o.message_id for o in adapter.sent] == [message_id]


async def test_permanent_and_exhausted_failures_are_failed_and_shown_to_the_agent(
    api: World, adapter: RecordingAdapter, runner: InProcessRunner
) -> None:
    conv_id, _ = await _conversation(api)
    rejected = await _reply(api, conv_id, "reject this one", runner)
    exhausted = await _reply(api, conv_id, "fail:9 never gets through", runner)
    msg = await _settled(api, conv_id, rejected)
    assert (msg["delivery_status"], msg["delivery_error"]) == ("failed", "recipient rejected by the channel")
    assert adapter.attempts[rejected] == 1
    msg = await _settled(api, conv_id, exhausted)
    assert (msg["delivery_status"], msg["delivery_error"]) == ("failed", "ConnectionError: channel unreachable")
    assert adapter.attempts[exhausted] == 3 and adapter.sent == []

    browser = await login(api, api.admin)
    for lang, label in (("en", "Not delivered"), ("zh_CN", "未送达"), ("zh_TW", "未送達")):
        page = await browser.http.get(f"/app?c={conv_id}&lang={lang}")
        assert page.status_code == 200
        bubble = page.text.split(f'id="msg-{rejected}"', 1)[1].split('class="msg-body"', 1)[0]
        assert f'<span class="tag tag-undelivered" title="recipient rejected by the channel">{label}</span>' in bubble


async def test_notes_bot_answers_and_widget_replies(
    api: World, adapter: RecordingAdapter, runner: InProcessRunner
) -> None:
    conv_id, _ = await _conversation(api)
    note = await _reply(api, conv_id, "内部备注", runner, kind="note")
    state = api.server.state
    async with state.sessionmaker() as session:
        bind_bus(session, state.bus)
        conv = await get_conversation(session, api.account_id, conv_id)
        bot = await do_post_bot_message(session, conv, "机器人回答", jobs=runner)
    msg = await _settled(api, conv_id, bot.id)
    assert msg["delivery_status"] == "sent" and [o.message_id for o in adapter.sent] == [bot.id]
    msgs = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert {m["id"]: m["delivery_status"] for m in msgs}[note] is None
    assert [m["delivery_status"] for m in msgs if m["direction"] == "incoming"] == [None]

    _, widget_conv = await api.conversation("widget")  # the widget's socket is its delivery: no job
    r = await api.http.post(f"/api/v1/conversations/{widget_conv['id']}/messages", json={"content": "hi"})
    assert (r.status_code, r.json()["delivery_status"], r.json()["delivery_error"]) == (201, None, None)


async def test_a_failed_reply_is_sent_again_from_the_api_or_the_workspace(
    api: World, adapter: RecordingAdapter, runner: InProcessRunner
) -> None:
    conv_id, _ = await _conversation(api)
    flaky = await _reply(api, conv_id, "fail:3 gets through on the fourth try", runner)
    rejected = await _reply(api, conv_id, "reject again and again", runner)
    assert (await _settled(api, conv_id, flaky))["delivery_status"] == "failed"
    assert adapter.attempts[flaky] == 3

    state = api.server.state
    async with state.sessionmaker() as session:
        _, msg = await do_retry_delivery(session, api.account_id, conv_id, flaky, runner)
        assert (msg.delivery_status, msg.delivery_error, msg.delivery_attempts) == ("pending", None, 0)
    msg = await _settled(api, conv_id, flaky)
    assert (msg["delivery_status"], msg["delivery_error"]) == ("sent", None)
    assert adapter.attempts[flaky] == 4 and [o.message_id for o in adapter.sent] == [flaky]

    r = await api.http.post(f"/api/v1/conversations/{conv_id}/messages/{flaky}/retry")
    assert r.status_code == 409
    assert (
        r.json()["error"]["message"] == f"message {flaky} can be sent again only after its delivery failed (it is sent)"
    )
    _, other = await api.conversation("another")
    assert (await api.http.post(f"/api/v1/conversations/{other['id']}/messages/{flaky}/retry")).status_code == 404

    assert (await _settled(api, conv_id, rejected))["delivery_status"] == "failed"
    browser = await login(api, api.admin)
    for lang, label in (("en", "Send again"), ("zh_CN", "重新发送"), ("zh_TW", "重新傳送")):
        page = await browser.http.get(f"/app?c={conv_id}&lang={lang}")
        bubble = page.text.split(f'id="msg-{rejected}"', 1)[1].split('class="msg-body"', 1)[0]
        assert '<span class="delivery-error">recipient rejected by the channel</span>' in bubble
        assert f'hx-post="/app/c/{conv_id}/messages/{rejected}/retry"' in bubble and f">{label}</button>" in bubble
    r = await browser.post_form(f"/app/c/{conv_id}/messages/{rejected}/retry?lang=en", {})
    assert r.status_code == 200 and f'id="msg-{rejected}"' in r.text
    assert '<span class="tag tag-sending">Sending…</span>' in r.text
