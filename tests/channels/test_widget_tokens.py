"""Widget visitors' tokens expire and can be revoked ("sign out this visitor"); attachment URLs expire
and every read of a message signs them again."""

from __future__ import annotations

from datetime import timedelta

import pytest
import websockets
from itsdangerous import URLSafeSerializer

from kefu.core import clock
from kefu.core.constants import Role
from tests.support.factories import World, recv_json


async def test_signing_a_visitor_out_ends_every_token_and_socket(api: World) -> None:
    inbox = await api.inbox()
    visitor, other = await api.visitor(inbox), await api.visitor(inbox)
    await visitor.say("hello")
    key = inbox["public_key"]
    agent = await api.user(Role.AGENT)
    async with visitor.ws() as ws:
        assert (await recv_json(ws))["type"] == "hello"
        r = await agent.client.post(f"/api/v1/contacts/{visitor.contact_id}/sign_out")
        assert r.status_code == 200, r.text
        assert r.json() == {"contact_id": visitor.contact_id, "token_version": 1}
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await recv_json(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    signed_out = {"code": "unauthorized", "message": "this visitor was signed out; start a new chat"}
    for method, path, body in [
        ("GET", "/messages", None),
        ("POST", "/messages", {"content": "still me?", "client_message_id": "x1"}),
        ("POST", "/socket_ticket", None),
        ("POST", "/typing", {"typing": True}),
    ]:
        r = await visitor.client.request(method, f"/api/v1/widget/{key}{path}", json=body, headers=visitor.headers)
        assert (r.status_code, r.json()["error"]) == (401, signed_out), path
    conv = (await api.http.get("/api/v1/conversations", params={"contact_id": visitor.contact_id})).json()
    msgs = (await api.http.get(f"/api/v1/conversations/{conv['items'][0]['id']}/messages")).json()
    assert [m["content"] for m in msgs] == ["hello"]  # nothing was written after the sign-out
    assert (await other.say("unaffected"))["content"] == "unaffected"
    events = (await api.http.get("/api/v1/events", params={"type": "contact.signed_out"})).json()
    assert [(e["contact_id"], e["actor"]) for e in events] == [(visitor.contact_id, {"type": "user", "id": agent.id})]


async def test_another_accounts_contact_cannot_be_signed_out(api: World) -> None:
    from tests.support.factories import new_account

    async with new_account(api.server) as b:
        inbox = await b.inbox()
        visitor = await b.visitor(inbox)
        r = await api.http.post(f"/api/v1/contacts/{visitor.contact_id}/sign_out")
        assert (r.status_code, r.json()["error"]["message"]) == (404, f"contact {visitor.contact_id} not found")
        assert (await visitor.messages())["messages"] == []  # still signed in


async def test_contact_tokens_expire_and_old_unversioned_ones_are_refused(api: World) -> None:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox)
    path = f"/api/v1/widget/{inbox['public_key']}/messages"
    max_age = api.server.settings.contact_token_max_age_s
    assert max_age == 180 * 24 * 3600
    clock.freeze(clock.now() + timedelta(seconds=max_age - 3600))
    assert (await visitor.client.get(path, headers=visitor.headers)).status_code == 200
    clock.freeze(clock.now() + timedelta(hours=2))
    r = await visitor.client.get(path, headers=visitor.headers)
    assert (r.status_code, r.json()["error"]["message"]) == (401, "this contact token has expired; start a new chat")
    clock.freeze(None)
    old = URLSafeSerializer(api.server.settings.secret_key, salt="kefu.widget.contact").dumps(
        {"a": api.account_id, "i": inbox["id"], "c": visitor.contact_id}
    )  # the format before tokens carried a time and a version: it never expired
    r = await visitor.client.get(path, headers={"X-Contact-Token": str(old)})
    assert (r.status_code, r.json()["error"]["message"]) == (401, "invalid contact token")


async def test_attachment_urls_expire_and_reads_sign_them_again(api: World) -> None:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox)
    key = inbox["public_key"]
    up = await visitor.client.post(
        f"/api/v1/widget/{key}/attachments", headers=visitor.headers, files={"file": ("a.txt", b"hi", "text/plain")}
    )
    assert up.status_code == 201, up.text
    sent = await visitor.client.post(
        f"/api/v1/widget/{key}/messages",
        headers=visitor.headers,
        json={"content": "a.txt", "client_message_id": "f1", "attachments": [{"id": up.json()["id"]}]},
    )
    stored_url = sent.json()["attachments"][0]["url"]
    assert (await api.client().get(stored_url)).content == b"hi"

    clock.freeze(clock.now() + timedelta(days=1, hours=2))  # past the URL's day (rounded up to the hour)
    expired = await api.client().get(stored_url)
    assert (expired.status_code, expired.json()["error"]["message"]) == (404, f"attachment {up.json()['id']} not found")
    fresh = (await visitor.messages())["messages"][0]["attachments"][0]["url"]  # the widget's read
    conv_id = sent.json()["conversation_id"]
    agent_view = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()[0]["attachments"][0]["url"]
    for url in (fresh, agent_view):
        assert url != stored_url
        got = await api.client().get(url)
        assert (got.status_code, got.content) == (200, b"hi")
    tampered = fresh.rsplit("/", 1)[0] + "/9999999999." + fresh.rsplit(".", 1)[1]
    assert (await api.client().get(tampered)).status_code == 404  # a later expiry needs a new signature
