"""Admin → Event listeners and /api/v1/listeners over HTTP: admins only, scoped to the account, retry and
dismiss of dead letters (tests/browser/test_crawl.py crawls the page in every role and language)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from kefu.core import clock
from kefu.core.constants import EventType, Role
from kefu.core.eventlog import Event
from kefu.core.events import Actor, commit, emit
from kefu.core.listeners import LISTENERS, ListenedEvent
from kefu.core.listeners_models import DeadLetter, DeadLetterStatus, ListenerCursor
from tests.support.factories import World, uniq
from tests.web.conftest import login

state: dict[str, bool] = {"fail": True}
FAR = 2**62  # a cursor beyond every event


@pytest.fixture
async def listener_name(api: World) -> AsyncIterator[str]:
    """A listener registered in the app's registry for the test, removed afterwards."""
    name = uniq("test.admin.")

    async def handle(session: object, event: ListenedEvent) -> None:
        if state["fail"]:
            raise RuntimeError("the CRM is down")

    LISTENERS.listener(name, events={EventType.TEAM_UPDATED})(handle)
    async with api.server.state.sessionmaker() as session:  # the server's own dispatcher must not run it
        session.add(ListenerCursor(name=name, last_event_id=FAR, updated_at=clock.now()))
        await session.commit()
    try:
        yield name
    finally:
        LISTENERS.specs.pop(name, None)


async def _dead_letter(api: World, listener: str) -> int:
    async with api.server.state.sessionmaker() as session:
        event = emit(session, api.account_id, EventType.TEAM_UPDATED, {"id": 1}, actor=Actor.system())
        await session.flush()
        letter = DeadLetter(
            listener=listener, event_id=event.id, account_id=api.account_id, attempts=5,
            last_error="RuntimeError: the CRM is down", status=DeadLetterStatus.DEAD,
        )  # fmt: skip
        session.add(letter)
        await commit(session)
        return letter.id


async def _status(api: World, letter_id: int) -> tuple[str, int]:
    async with api.server.state.sessionmaker() as session:
        letter = await session.get(DeadLetter, letter_id)
        assert letter is not None
        return letter.status, letter.attempts


async def test_the_api_lists_listeners_and_dead_letters_and_retries_them(api: World, listener_name: str) -> None:
    letter_id = await _dead_letter(api, listener_name)
    r = await api.http.get("/api/v1/listeners")
    assert r.status_code == 200, r.text
    body = r.json()
    mine = [item for item in body["listeners"] if item["name"] == listener_name]
    assert [(m["events"], m["max_attempts"], m["last_event_id"], m["lag"]) for m in mine] == [
        (["team.updated"], 5, FAR, 0)
    ]
    assert [(d["id"], d["listener"], d["event_type"], d["status"], d["attempts"], d["last_error"])
            for d in body["dead_letters"]] == [
        (letter_id, listener_name, "team.updated", "dead", 5, "RuntimeError: the CRM is down")
    ]  # fmt: skip

    state["fail"] = True
    r = await api.http.post(f"/api/v1/listeners/dead-letters/{letter_id}/retry")
    assert r.status_code == 200 and (r.json()["status"], r.json()["attempts"]) == ("dead", 6)
    state["fail"] = False
    r = await api.http.post(f"/api/v1/listeners/dead-letters/{letter_id}/retry")
    assert r.status_code == 200 and (r.json()["status"], r.json()["attempts"]) == ("resolved", 7)
    r = await api.http.post(f"/api/v1/listeners/dead-letters/{letter_id}/dismiss")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert (await api.http.get("/api/v1/listeners")).json()["dead_letters"] == []


async def test_only_admins_of_the_account_may_see_or_touch_dead_letters(api: World, listener_name: str) -> None:
    letter_id = await _dead_letter(api, listener_name)
    for role in (Role.SUPERVISOR, Role.AGENT):
        user = await api.user(role)
        assert (await user.client.get("/api/v1/listeners")).status_code == 403
        for action in ("retry", "dismiss"):
            r = await user.client.post(f"/api/v1/listeners/dead-letters/{letter_id}/{action}")
            assert r.status_code == 403
    from tests.support.factories import new_account

    async with new_account(api.server) as other:
        assert (await other.http.get("/api/v1/listeners")).json()["dead_letters"] == []
        for action in ("retry", "dismiss"):
            r = await other.http.post(f"/api/v1/listeners/dead-letters/{letter_id}/{action}")
            assert r.status_code == 404
    assert await _status(api, letter_id) == ("dead", 5)  # nothing changed


async def test_the_admin_page_shows_dead_letters_and_dismisses_one(api: World, listener_name: str) -> None:
    letter_id = await _dead_letter(api, listener_name)
    browser = await login(api, api.admin)
    page = await browser.http.get("/admin/listeners?lang=en")
    assert page.status_code == 200
    html = page.text
    assert f'data-listener="{listener_name}"' in html and f'data-dead-letter-id="{letter_id}"' in html
    assert "RuntimeError: the CRM is down" in html and 'href="/admin/listeners"' in html
    r = await browser.post_form(f"/admin/listeners/dead-letters/{letter_id}/dismiss", {})
    assert r.status_code == 303 and r.headers["location"] == "/admin/listeners?done=resolved"
    assert await _status(api, letter_id) == ("resolved", 5)
    r = await browser.post_form(f"/admin/listeners/dead-letters/{letter_id}/retry", {})
    assert r.status_code == 409 and "only a dead one" in r.text

    supervisor = await login(api, await api.user(Role.SUPERVISOR))
    assert (await supervisor.http.get("/admin/listeners")).status_code == 403
    assert 'href="/admin/listeners"' not in (await supervisor.http.get("/admin/teams")).text
    async with api.server.state.sessionmaker() as session:
        q = select(Event.id).where(Event.account_id == api.account_id, Event.type == EventType.TEAM_UPDATED)
        assert len(list((await session.execute(q)).scalars())) == 1
