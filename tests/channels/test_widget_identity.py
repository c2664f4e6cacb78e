"""A verified identity from the widget snippet (channels/widget/identity.py): a good identifier_hash over
user_id, email and phone merges the visitor into the contact that already holds one of them (the visitor
keeps chatting as that contact); a bad one is a 401 that changes nothing; an email a visitor merely
types never merges. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from kefu.channels.widget.identity import sign_identity
from tests.support.factories import Visitor, World, uniq


async def _secret(api: World, inbox_id: int) -> str:
    return str((await api.http.get(f"/api/v1/inboxes/{inbox_id}/identity_secret")).json()["secret"])


async def _identities(api: World, contact_id: int) -> list[tuple[str, str]]:
    rows = (await api.http.get(f"/api/v1/contacts/{contact_id}/identities")).json()
    return sorted((i["kind"], i["value"]) for i in rows)


async def _verify(visitor: Visitor, body: dict[str, Any]) -> Any:
    return await visitor.client.post(f"/api/v1/widget/{visitor.inbox_key}/identity", json=body, headers=visitor.headers)


async def test_a_good_hash_merges_the_visitor_into_the_known_customer(api: World) -> None:
    email = f"{uniq('zhang')}@example.com"
    known = (await api.http.post("/api/v1/contacts", json={"name": "张伟", "email": email})).json()
    inbox = await api.inbox()
    secret = await _secret(api, inbox["id"])
    visitor = await api.visitor(inbox)
    conv_id = (await visitor.say("我之前发过邮件"))["conversation_id"]
    own = await _identities(api, visitor.contact_id)
    body = {
        "user_id": "u-7",
        "email": email.upper(),
        "phone": "13600136000",
        "identifier_hash": sign_identity(secret, "u-7", email.upper(), "13600136000"),
    }
    r = await _verify(visitor, body)
    assert (r.status_code, r.json()) == (200, {"contact_id": known["id"], "merged": True})
    assert (await api.http.get(f"/api/v1/contacts/{visitor.contact_id}")).json()["id"] == known["id"]
    assert await _identities(api, known["id"]) == sorted(
        [*own, ("email", email), ("external_id", "u-7"), ("phone", "+8613600136000")]
    )
    [merge] = (await api.http.get(f"/api/v1/contacts/{known['id']}/merges")).json()
    assert (merge["absorbed_id"], merge["reason"], merge["actor_type"]) == (visitor.contact_id, "verified", "contact")
    assert merge["moved"]["conversations"] == [conv_id]
    # the visitor keeps chatting, now as the known customer, in the same conversation
    again = await visitor.say("还在吗")
    assert again["conversation_id"] == conv_id
    history = await visitor.messages()
    assert [m["content"] for m in history["messages"]] == ["我之前发过邮件", "还在吗"]
    assert (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()["contact_id"] == known["id"]
    # verifying again changes nothing more
    r = await _verify(visitor, body)
    assert (r.status_code, r.json()) == (200, {"contact_id": known["id"], "merged": False})
    assert len((await api.http.get(f"/api/v1/contacts/{known['id']}/merges")).json()) == 1
    # signing the customer out ends the merged visitor's token too
    assert (await api.http.post(f"/api/v1/contacts/{known['id']}/sign_out")).status_code == 200
    r = await visitor.client.get(f"/api/v1/widget/{visitor.inbox_key}/messages", headers=visitor.headers)
    assert r.status_code == 401


async def test_a_first_verified_visitor_keeps_its_contact(api: World) -> None:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox)
    secret = await _secret(api, inbox["id"])
    body = {"user_id": "u-new", "identifier_hash": sign_identity(secret, "u-new")}
    r = await _verify(visitor, body)
    assert (r.status_code, r.json()) == (200, {"contact_id": visitor.contact_id, "merged": False})
    assert ("external_id", "u-new") in await _identities(api, visitor.contact_id)


async def test_a_bad_hash_is_refused_and_changes_nothing(api: World) -> None:
    email = f"{uniq('li')}@example.com"
    known = (await api.http.post("/api/v1/contacts", json={"name": "李娜", "email": email})).json()
    inbox, other = await api.inbox(), await api.inbox()
    visitor = await api.visitor(inbox)
    secret, other_secret = await _secret(api, inbox["id"]), await _secret(api, other["id"])
    before = await _identities(api, visitor.contact_id)
    for hash_ in (
        sign_identity(secret, "u-8", "someone@else.com", None),  # signed another email
        sign_identity(other_secret, "u-8", email, None),  # another inbox's secret
        "00" * 32,
    ):
        r = await _verify(visitor, {"user_id": "u-8", "email": email, "identifier_hash": hash_})
        assert r.status_code == 401
        assert r.json()["error"]["message"] == (
            "identifier_hash does not match; sign user_id, email and phone (one per line) "
            "with the inbox's identity secret"
        )
    r = await visitor.client.post(
        f"/api/v1/widget/{inbox['public_key']}/identity",
        json={"user_id": "u-8", "identifier_hash": sign_identity(secret, "u-8")},
    )
    assert (r.status_code, r.json()["error"]["message"]) == (401, "missing X-Contact-Token")
    assert await _identities(api, visitor.contact_id) == before
    assert (await api.http.get(f"/api/v1/contacts/{visitor.contact_id}")).json()["id"] == visitor.contact_id
    assert (await api.http.get(f"/api/v1/contacts/{known['id']}/merges")).json() == []


async def test_an_email_a_visitor_types_never_merges(api: World) -> None:
    email = f"{uniq('wang')}@example.com"
    known = (await api.http.post("/api/v1/contacts", json={"name": "王", "email": email})).json()
    inbox = await api.inbox()
    c = api.client()
    r = await c.post(f"/api/v1/widget/{inbox['public_key']}/contacts", json={"name": "王?", "email": email})
    assert r.status_code == 201, r.text
    typed = r.json()["contact_id"]
    assert typed != known["id"]
    got = (await api.http.get(f"/api/v1/contacts/{typed}")).json()
    assert (got["id"], got["email"]) == (typed, email)  # kept as an unverified field, no identity
    assert [k for k, _ in await _identities(api, typed)] == ["widget_visitor"]
    assert (await api.http.get(f"/api/v1/contacts/{known['id']}/merges")).json() == []
