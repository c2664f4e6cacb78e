"""Merging two contacts and undoing it over the API: exactly what moves (and back), the audit entries
(`contact.merged` / `contact.split` in the event log with who did it), old ids and widget tokens
resolving to the kept contact, refusals that change nothing, and two sessions racing to merge the same
pair both ways (one merge, one 409). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.contacts.merge import REFERENCES, do_merge_contacts
from kefu.contacts.models import Contact, ContactMerge
from kefu.core.constants import ActorType
from kefu.core.errors import Conflict
from kefu.core.events import Actor
from kefu.models import Base
from tests.support.factories import World, new_account, uniq


def test_every_reference_to_contacts_is_moved_by_a_merge() -> None:
    named = {(r.table, r.column) for r in REFERENCES}
    for t in Base.metadata.sorted_tables:
        if t.name == "contact_merges":  # the history of merges itself
            continue
        for fk in t.foreign_keys:
            if fk.column.table.name == "contacts":
                assert (t.name, fk.parent.name) in named, f"{t.name}.{fk.parent.name} is not moved by a merge"


def _actor(api: World) -> Actor:
    return Actor(ActorType.USER, api.admin.id)


async def _events(api: World, type_: str, contact_id: int) -> list[dict[str, Any]]:
    rows = (await api.http.get("/api/v1/events", params={"type": type_, "limit": 500})).json()
    return [e for e in rows if e["contact_id"] == contact_id]


async def test_merge_moves_everything_and_split_moves_it_back(api: World) -> None:
    inbox = await api.inbox()
    a, b = await api.visitor(inbox, "甲"), await api.visitor(inbox, "乙")
    conv_a = (await a.say("我的订单还没到"))["conversation_id"]
    conv_b = (await b.say("请问怎么退货"))["conversation_id"]
    await api.http.patch(f"/api/v1/contacts/{a.contact_id}", json={"attributes": {"city": "北京"}})
    await api.http.patch(f"/api/v1/contacts/{b.contact_id}", json={"attributes": {"city": "上海", "plan": "pro"}})
    email = f"{uniq('yi')}@example.com"
    b_email = (
        await api.http.post(f"/api/v1/contacts/{b.contact_id}/identities", json={"kind": "email", "value": email})
    ).json()
    b_idents = sorted(i["id"] for i in (await api.http.get(f"/api/v1/contacts/{b.contact_id}/identities")).json())
    a_idents = sorted(i["id"] for i in (await api.http.get(f"/api/v1/contacts/{a.contact_id}/identities")).json())
    assert b_email["id"] in b_idents and len(b_idents) == 2
    ticket = (await api.http.post("/api/v1/tickets", json={"subject": "退货", "contact_id": b.contact_id})).json()

    r = await api.http.post(f"/api/v1/contacts/{a.contact_id}/merge", json={"other_id": b.contact_id})
    assert r.status_code == 200, r.text
    merge = r.json()
    assert (merge["kept_id"], merge["absorbed_id"], merge["reason"], merge["split_at"]) == (
        a.contact_id,
        b.contact_id,
        "manual",
        None,
    )
    assert (merge["actor_type"], merge["actor_id"]) == ("user", api.admin.id)
    assert merge["moved"] == {
        "conversations": [conv_b],
        "identities": b_idents,
        "tickets": [ticket["id"]],
        "repeat_contacts": [],
        "attachments": [],
        "merged_contacts": [],
        "attributes": {"plan": "pro"},
        "fields": {"email": email},
    }
    kept = (await api.http.get(f"/api/v1/contacts/{b.contact_id}")).json()  # the absorbed id resolves
    assert (kept["id"], kept["attributes"], kept["email"]) == (a.contact_id, {"city": "北京", "plan": "pro"}, email)
    assert sorted(i["id"] for i in kept["identities"]) == sorted(a_idents + b_idents)
    assert (await api.http.get(f"/api/v1/conversations/{conv_b}")).json()["contact_id"] == a.contact_id
    assert (await api.http.get(f"/api/v1/tickets/{ticket['id']}")).json()["contact_id"] == a.contact_id
    listed = (await api.http.get("/api/v1/contacts", params={"limit": 100})).json()["items"]
    assert b.contact_id not in {c["id"] for c in listed} and a.contact_id in {c["id"] for c in listed}
    [audit] = await _events(api, "contact.merged", a.contact_id)
    assert (audit["actor"], audit["payload"]["absorbed_id"], audit["payload"]["merge_id"]) == (
        {"type": "user", "id": api.admin.id},
        b.contact_id,
        merge["id"],
    )
    # the absorbed visitor keeps chatting: its token resolves to the kept contact
    again = await b.say("还在吗？")
    assert again["conversation_id"] == conv_b
    assert (await api.http.get(f"/api/v1/conversations/{conv_b}")).json()["contact_id"] == a.contact_id
    # what happens after the merge stays with the kept contact when it is split
    phone = (
        await api.http.post(
            f"/api/v1/contacts/{a.contact_id}/identities", json={"kind": "phone", "value": "13700137000"}
        )
    ).json()

    r = await api.http.post(f"/api/v1/contacts/{a.contact_id}/split", json={"merge_id": merge["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["split_at"] is not None
    back = (await api.http.get(f"/api/v1/contacts/{b.contact_id}")).json()
    assert (back["id"], back["attributes"], back["email"]) == (b.contact_id, {"city": "上海", "plan": "pro"}, email)
    assert sorted(i["id"] for i in back["identities"]) == b_idents
    kept = (await api.http.get(f"/api/v1/contacts/{a.contact_id}")).json()
    assert (kept["attributes"], kept["email"], kept["phone"]) == ({"city": "北京"}, None, "+8613700137000")
    assert sorted(i["id"] for i in kept["identities"]) == sorted([*a_idents, phone["id"]])
    assert (await api.http.get(f"/api/v1/conversations/{conv_b}")).json()["contact_id"] == b.contact_id
    assert (await api.http.get(f"/api/v1/conversations/{conv_a}")).json()["contact_id"] == a.contact_id
    assert (await api.http.get(f"/api/v1/tickets/{ticket['id']}")).json()["contact_id"] == b.contact_id
    [split] = await _events(api, "contact.split", a.contact_id)
    assert (split["actor"], split["payload"]["merge_id"]) == ({"type": "user", "id": api.admin.id}, merge["id"])
    assert split["payload"]["moved"]["conversations"] == [conv_b]
    merges = (await api.http.get(f"/api/v1/contacts/{a.contact_id}/merges")).json()
    assert [(m["id"], m["split_at"] is not None) for m in merges] == [(merge["id"], True)]
    r = await api.http.post(f"/api/v1/contacts/{a.contact_id}/split", json={"merge_id": merge["id"]})
    assert (r.status_code, r.json()["error"]["message"]) == (409, f"merge {merge['id']} was undone already")


async def test_refused_merges_change_nothing(api: World) -> None:
    a = (await api.http.post("/api/v1/contacts", json={"name": "A"})).json()
    b = (await api.http.post("/api/v1/contacts", json={"name": "B"})).json()
    c = (await api.http.post("/api/v1/contacts", json={"name": "C"})).json()
    r = await api.http.post(f"/api/v1/contacts/{a['id']}/merge", json={"other_id": a["id"]})
    assert (r.status_code, r.json()["error"]["message"]) == (422, "a contact cannot be merged with itself")
    r = await api.http.post(f"/api/v1/contacts/{a['id']}/merge", json={"other_id": 2**62})
    assert (r.status_code, r.json()["error"]["message"]) == (404, f"contact {2**62} not found")
    async with new_account(api.server) as other:
        foreign = (await other.http.post("/api/v1/contacts", json={"name": "B's"})).json()
        ident = {"kind": "external_id", "value": "b-1"}
        assert (await other.http.post(f"/api/v1/contacts/{foreign['id']}/identities", json=ident)).status_code == 201
        r = await api.http.post(f"/api/v1/contacts/{a['id']}/merge", json={"other_id": foreign["id"]})
        assert (r.status_code, r.json()["error"]["message"]) == (404, f"contact {foreign['id']} not found")
        r = await api.http.post(
            f"/api/v1/contacts/{a['id']}/identities", json={"kind": "external_id", "value": "b-1", "merge": True}
        )
        assert r.json()["merge_id"] is None  # identities are per account: B's contacts are never found
        assert (await other.http.get(f"/api/v1/contacts/{foreign['id']}")).json()["merged_into_id"] is None
    assert (await api.http.post(f"/api/v1/contacts/{a['id']}/merge", json={"other_id": b["id"]})).status_code == 200
    r = await api.http.post(f"/api/v1/contacts/{c['id']}/merge", json={"other_id": b["id"]})
    assert (r.status_code, r.json()["error"]["message"]) == (
        409,
        f"contact {b['id']} was merged into contact {a['id']} already",
    )
    r = await api.http.post(f"/api/v1/contacts/{c['id']}/split", json={"merge_id": 2**62})
    assert r.status_code == 404
    assert (await api.http.get(f"/api/v1/contacts/{c['id']}/merges")).json() == []
    assert await _events(api, "contact.merged", c["id"]) == []


async def test_two_sessions_merging_a_pair_both_ways_end_with_one_merge(
    api: World, backend: dict[str, str | None]
) -> None:
    if backend["name"] != "postgres":
        pytest.skip("row locks are PostgreSQL's; SQLite writes are serial")
    sm: async_sessionmaker[AsyncSession] = api.server.state.sessionmaker
    for _ in range(5):
        a = (await api.http.post("/api/v1/contacts", json={"name": "A"})).json()["id"]
        b = (await api.http.post("/api/v1/contacts", json={"name": "B"})).json()["id"]

        async def merge(kept: int, absorbed: int) -> str:
            async with sm() as session:
                try:
                    await do_merge_contacts(session, api.account_id, kept, absorbed, _actor(api))
                except Conflict as exc:
                    return exc.message
            return "merged"

        results = await asyncio.gather(merge(a, b), merge(b, a), merge(a, b))
        assert results.count("merged") == 1, results
        async with sm() as session:
            rows = (await session.execute(select(Contact).where(Contact.id.in_([a, b])))).scalars().all()
            merged = [c for c in rows if c.merged_into_id is not None]
            assert len(merged) == 1 and merged[0].merged_into_id in (a, b)
            q = select(ContactMerge).where(ContactMerge.kept_id.in_([a, b]))
            assert len((await session.execute(q)).scalars().all()) == 1
