"""The conversation status transition table: the full matrix through the service (on SQLite), the API's
and the workspace form's refusal on both backends, and the workspace offering only legal changes."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from kefu.conversations import service
from kefu.conversations.models import Conversation
from kefu.conversations.status import TRANSITIONS, InvalidTransition, can_transition, next_statuses
from kefu.core.constants import ActorType, ConversationStatus, EventType
from kefu.core.eventlog import Event
from kefu.core.events import Actor
from tests.support.factories import World
from tests.web.conftest import login

STATUSES = ["open", "pending", "snoozed", "resolved"]
# from → to: "change" (a status_changed event), "same" (a no-op), "refused" (409, nothing written).
MATRIX = {
    ("open", "open"): "same",
    ("open", "pending"): "change",
    ("open", "snoozed"): "change",
    ("open", "resolved"): "change",
    ("pending", "open"): "change",
    ("pending", "pending"): "same",
    ("pending", "snoozed"): "change",
    ("pending", "resolved"): "change",
    ("snoozed", "open"): "change",
    ("snoozed", "pending"): "change",
    ("snoozed", "snoozed"): "change",  # a new wake-up time
    ("snoozed", "resolved"): "change",
    ("resolved", "open"): "change",
    ("resolved", "pending"): "refused",
    ("resolved", "snoozed"): "refused",
    ("resolved", "resolved"): "same",
}
HX = {"HX-Request": "true"}


def test_the_table_is_the_matrix() -> None:
    assert set(TRANSITIONS) == set(ConversationStatus)
    for (frm, to), outcome in MATRIX.items():
        assert can_transition(frm, to) is (outcome != "refused"), (frm, to)
    assert next_statuses("open") == ["pending", "snoozed", "resolved"]
    assert next_statuses("resolved") == ["open"]
    with pytest.raises(InvalidTransition) as caught:
        from kefu.conversations.status import check_transition

        check_transition("resolved", "snoozed")
    assert caught.value.status_code == 409
    assert caught.value.message == "a resolved conversation cannot become snoozed (allowed: open)"


async def _force(api: World, conv_id: int, status: str) -> datetime | None:
    """Put the row in `status` directly, as the path that got it there would have left it."""
    until = datetime.now(UTC) + timedelta(hours=2) if status == "snoozed" else None
    resolved = datetime.now(UTC) if status == "resolved" else None
    async with api.server.state.sessionmaker() as session:
        values = {"status": status, "snoozed_until": until, "resolved_at": resolved}
        await session.execute(update(Conversation).where(Conversation.id == conv_id).values(**values))
        await session.commit()
    return until


async def _status_events(api: World, conv_id: int) -> int:
    async with api.server.state.sessionmaker() as session:
        q = select(func.count()).where(
            Event.conversation_id == conv_id, Event.type == str(EventType.CONVERSATION_STATUS_CHANGED)
        )
        return int((await session.execute(q)).scalar_one())


async def test_every_transition_through_the_service(api: World) -> None:
    if api.server.backend != "sqlite":
        pytest.skip("the full matrix runs on SQLite; the API refusal runs on both backends")
    _, conv = await api.conversation()
    cid = conv["id"]
    actor = Actor(ActorType.USER, api.admin.id)
    for (frm, to), outcome in MATRIX.items():
        before_until = await _force(api, cid, frm)
        before_events = await _status_events(api, cid)
        until = datetime.now(UTC) + timedelta(hours=5) if to == "snoozed" else None
        async with api.server.state.sessionmaker() as session:
            if outcome == "refused":
                with pytest.raises(InvalidTransition) as caught:
                    await service.do_change_status(session, api.account_id, cid, ConversationStatus(to), until, actor)
                assert caught.value.details == {"from": frm, "to": to, "allowed": ["open"]}
            else:
                got = await service.do_change_status(session, api.account_id, cid, ConversationStatus(to), until, actor)
                assert got.status == to, (frm, to)
        async with api.server.state.sessionmaker() as session:
            row = await session.get(Conversation, cid)
            assert row is not None
            expected_status = frm if outcome == "refused" else to
            assert row.status == expected_status, (frm, to)
            expected_until = until if outcome == "change" else before_until
            assert row.snoozed_until == expected_until, (frm, to)
            assert (row.resolved_at is not None) is (expected_status == "resolved"), (frm, to)
        added = await _status_events(api, cid) - before_events
        assert added == (1 if outcome == "change" else 0), (frm, to)


async def test_the_system_path_skips_what_the_table_refuses(api: World) -> None:
    _, conv = await api.conversation()
    await _force(api, conv["id"], "resolved")
    async with api.server.state.sessionmaker() as session:
        changed = await service.do_change_status_system(session, conv["id"], ConversationStatus.SNOOZED, reason="test")
    assert changed is False
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()["status"] == "resolved"


async def test_api_refuses_an_illegal_change_with_409(api: World) -> None:
    _, conv = await api.conversation()
    cid = conv["id"]
    path = f"/api/v1/conversations/{cid}/status"
    assert (await api.http.post(f"/api/v1/conversations/{cid}/resolve")).status_code == 200
    before = await _status_events(api, cid)
    r = await api.http.post(path, json={"status": "pending"})
    assert r.status_code == 409
    assert r.json() == {
        "error": {
            "code": "conflict",
            "message": "a resolved conversation cannot become pending (allowed: open)",
            "details": {"from": "resolved", "to": "pending", "allowed": ["open"]},
        }
    }
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await api.http.post(path, json={"status": "snoozed", "snoozed_until": until})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "a resolved conversation cannot become snoozed (allowed: open)"
    r = await api.http.post(path, json={"status": "snoozed"})  # the transition is checked first
    assert r.status_code == 409
    r = await api.http.post(f"/api/v1/conversations/{cid}/resolve")  # resolving again: a no-op
    assert (r.status_code, r.json()["status"]) == (200, "resolved")
    got = (await api.http.get(f"/api/v1/conversations/{cid}")).json()
    assert (got["status"], got["snoozed_until"]) == ("resolved", None)
    assert await _status_events(api, cid) == before
    r = await api.http.post(path, json={"status": "open"})
    assert (r.status_code, r.json()["status"]) == (200, "open")


async def test_workspace_form_refuses_an_illegal_change(api: World) -> None:
    browser = await login(api, api.admin)
    _, conv = await api.conversation()
    cid = conv["id"]
    await api.http.post(f"/api/v1/conversations/{cid}/resolve")
    h = {**HX, "X-CSRF-Token": browser.csrf}
    r = await browser.http.post(f"/app/c/{cid}/status?lang=en", data={"status": "pending"}, headers=h)
    assert r.status_code == 409
    assert html.unescape(r.text) == (
        '<span class="error-fragment">This conversation is Resolved and cannot be changed to Pending.</span>'
    )
    data = {"status": "snoozed", "preset": "4h"}
    r = await browser.http.post(f"/app/c/{cid}/status?lang=zh_CN", data=data, headers=h)
    assert r.status_code == 409
    assert "已解决" in r.text and "已暂缓" in r.text
    r = await browser.http.post(f"/app/c/{cid}/status", data={"status": "snoozed"}, headers=h)
    assert r.status_code == 409  # not "choose when the snooze ends": the change itself is refused
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["status"] == "resolved"


def _actions(text: str) -> list[str]:
    offered = [s for s in STATUSES if f'hx-vals=\'{{"status": "{s}"}}\'' in text]
    if '<input type="hidden" name="status" value="snoozed">' in text:
        offered.append("snoozed")
    return sorted(offered)


async def test_workspace_offers_only_legal_changes(api: World) -> None:
    browser = await login(api, api.admin)
    _, conv = await api.conversation()
    cid = conv["id"]
    offered = {}
    for status in STATUSES:
        await _force(api, cid, status)
        r = await browser.http.get(f"/app/c/{cid}/head", headers=HX)
        assert r.status_code == 200
        offered[status] = _actions(r.text)
    assert offered == {
        "open": ["pending", "resolved", "snoozed"],
        "pending": ["open", "resolved", "snoozed"],
        "snoozed": ["open", "pending", "resolved", "snoozed"],
        "resolved": ["open"],
    }
