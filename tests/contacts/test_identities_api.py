"""/api/v1/contacts/{id}/identities: phones stored in E.164, an invalid one refused, an identity another
contact holds refused (409 naming it) unless merged; channels' `do_contact_for_identity` normalises the
same way. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from kefu.contacts.service import do_contact_for_identity
from kefu.core.constants import IdentityKind
from tests.support.factories import World, uniq


async def _contact(api: World, name: str, **extra: Any) -> dict[str, Any]:
    r = await api.http.post("/api/v1/contacts", json={"name": name, **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_phones_are_stored_in_e164_and_invalid_ones_refused(api: World) -> None:
    c = await _contact(api, "王芳")
    r = await api.http.post(f"/api/v1/contacts/{c['id']}/identities", json={"kind": "phone", "value": "138 0013 8000"})
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["value"], r.json()["merge_id"]) == ("phone", "+8613800138000", None)
    r = await api.http.post(f"/api/v1/contacts/{c['id']}/identities", json={"kind": "phone", "value": "+852 6123 4567"})
    assert (r.status_code, r.json()["value"]) == (201, "+85261234567")
    r = await api.http.post(f"/api/v1/contacts/{c['id']}/identities", json={"kind": "phone", "value": "12345"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "'12345' is not a valid phone number; write it with its country code, e.g. +8613812345678"
    )
    r = await api.http.post(f"/api/v1/contacts/{c['id']}/identities", json={"kind": "email", "value": "Wang@X.CN "})
    assert (r.status_code, r.json()["value"]) == (201, "wang@x.cn")
    listed = (await api.http.get(f"/api/v1/contacts/{c['id']}/identities")).json()
    assert [(i["kind"], i["value"]) for i in listed] == [
        ("phone", "+8613800138000"),
        ("phone", "+85261234567"),
        ("email", "wang@x.cn"),
    ]
    got = (await api.http.get(f"/api/v1/contacts/{c['id']}")).json()
    assert (got["phone"], got["email"]) == ("+8613800138000", "wang@x.cn")


async def test_an_identity_of_another_contact_is_a_conflict_unless_merged(api: World) -> None:
    a = await _contact(api, "甲")
    b = await _contact(api, "乙", email=f"{uniq('b')}@example.com")
    r = await api.http.post(f"/api/v1/contacts/{a['id']}/identities", json={"kind": "email", "value": b["email"]})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == (
        f"contact {b['id']} (乙) already has the email identity {b['email']}; "
        'send "merge": true to merge that contact into this one'
    )
    assert [i["kind"] for i in (await api.http.get(f"/api/v1/contacts/{a['id']}/identities")).json()] == []
    r = await api.http.post(
        f"/api/v1/contacts/{a['id']}/identities", json={"kind": "email", "value": b["email"], "merge": True}
    )
    assert r.status_code == 201, r.text
    assert r.json()["merge_id"] is not None
    merged = (await api.http.get(f"/api/v1/contacts/{b['id']}")).json()
    assert (merged["id"], merged["email"]) == (a["id"], b["email"])
    r = await api.http.post(f"/api/v1/contacts/{a['id']}/identities", json={"kind": "email", "value": b["email"]})
    assert (r.status_code, r.json()["error"]["message"]) == (
        409,
        f"contact {a['id']} already has the email identity {b['email']}",
    )


async def test_removing_an_identity(api: World) -> None:
    a = await _contact(api, "丙")
    added = (
        await api.http.post(
            f"/api/v1/contacts/{a['id']}/identities", json={"kind": "wechat_openid", "value": "oXyZ-123"}
        )
    ).json()
    b = await _contact(api, "丁")
    r = await api.http.delete(f"/api/v1/contacts/{b['id']}/identities/{added['id']}")
    assert (r.status_code, r.json()["error"]["message"]) == (404, f"identity {added['id']} not found")
    r = await api.http.delete(f"/api/v1/contacts/{a['id']}/identities/{added['id']}")
    assert r.status_code == 204
    assert (await api.http.get(f"/api/v1/contacts/{a['id']}/identities")).json() == []


async def test_channels_find_contacts_by_normalised_phone(api: World) -> None:
    state = api.server.state
    async with state.sessionmaker() as session:
        first, created = await do_contact_for_identity(session, api.account_id, IdentityKind.PHONE, "13900139000")
        assert created and first.phone == "+8613900139000"
    async with state.sessionmaker() as session:
        again, created = await do_contact_for_identity(session, api.account_id, "phone", "+86 139-0013-9000")
        assert (again.id, created) == (first.id, False)
