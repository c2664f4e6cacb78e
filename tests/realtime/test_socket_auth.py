"""Sockets take no secret from the URL: the agent socket by cookie, Authorization header or subprotocol;
the widget socket by a one-time ticket. Query secrets are scrubbed from the access log."""

from __future__ import annotations

import logging

import pytest
import websockets

from kefu.core.accesslog import ScrubSecrets
from kefu.core.constants import Role
from tests.support.factories import World, recv_json
from tests.web.conftest import start_session


async def _refused(url: str, **kw: object) -> None:
    with pytest.raises(websockets.InvalidStatus) as err:
        async with websockets.connect(url, **kw):  # type: ignore[arg-type]
            pass
    assert err.value.response.status_code == 403


async def test_agent_socket_by_header_subprotocol_or_cookie_never_by_query(api: World) -> None:
    agent = await api.user(Role.AGENT)
    base = f"{api.server.ws_url}/ws/agent"
    await _refused(f"{base}?token={agent.token}")  # a working token, but in the URL
    async with websockets.connect(base, additional_headers={"Authorization": f"Bearer {agent.token}"}) as ws:
        assert (await recv_json(ws))["type"] == "hello"
    async with websockets.connect(base, subprotocols=["kefu", f"kefu.bearer.{agent.token}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "kefu"
        assert (await recv_json(ws))["type"] == "hello"
    cookie, _ = await start_session(api, agent)
    async with websockets.connect(base, additional_headers={"Cookie": f"kefu_session={cookie}"}) as ws:
        assert (await recv_json(ws))["type"] == "hello"
    await _refused(base, additional_headers={"Authorization": "Bearer kefu_wrong"})
    await _refused(base)


async def test_widget_socket_needs_a_ticket_used_once(api: World) -> None:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox)
    base = f"{api.server.ws_url}/ws/widget?inbox={inbox['public_key']}"
    await _refused(f"{base}&token={visitor.token}")  # the contact token in the URL: refused
    ticket = await visitor.ticket()
    async with websockets.connect(f"{base}&ticket={ticket}") as ws:
        assert (await recv_json(ws))["type"] == "hello"
    await _refused(f"{base}&ticket={ticket}")  # the same ticket again
    other = await api.inbox()
    await _refused(f"{api.server.ws_url}/ws/widget?inbox={other['public_key']}&ticket={await visitor.ticket()}")
    await _refused(f"{base}&ticket=forged")
    r = await visitor.client.post(f"/api/v1/widget/{inbox['public_key']}/socket_ticket")
    assert (r.status_code, r.json()["error"]["message"]) == (401, "missing X-Contact-Token")
    body = (
        await visitor.client.post(f"/api/v1/widget/{inbox['public_key']}/socket_ticket", headers=visitor.headers)
    ).json()
    assert body["expires_in"] == 60 and visitor.token not in body["ticket"]


def _uvicorn_record(logger: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(logger, logging.INFO, __file__, 1, msg, args, None)


def test_query_secrets_are_scrubbed_from_access_and_socket_logs() -> None:
    scrub = ScrubSecrets()
    access = _uvicorn_record(
        "uvicorn.access",
        '%s - "%s %s HTTP/%s" %d',
        "10.0.0.1:5000",
        "GET",
        "/ws/agent?last_event_id=5&token=kefu_SECRET&x=1",
        "1.1",
        403,
    )
    assert scrub.filter(access) is True
    assert access.getMessage() == '10.0.0.1:5000 - "GET /ws/agent?last_event_id=5&token=***&x=1 HTTP/1.1" 403'
    ws = _uvicorn_record(
        "uvicorn.error", '%s - "WebSocket %s" [accepted]', "10.0.0.1:5000", "/ws/widget?inbox=K&ticket=T.abc"
    )
    scrub.filter(ws)
    assert ws.getMessage() == '10.0.0.1:5000 - "WebSocket /ws/widget?inbox=K&ticket=***" [accepted]'
    assert any(isinstance(f, ScrubSecrets) for f in logging.getLogger("uvicorn.access").filters)
    assert any(isinstance(f, ScrubSecrets) for f in logging.getLogger("uvicorn.error").filters)
