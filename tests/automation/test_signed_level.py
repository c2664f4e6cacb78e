"""The customer level a site passes, signed, from the widget snippet (channels/widget/identity.py): a good
signature sets contacts.tier, a missing or bad one is refused and changes nothing (both databases)."""

from __future__ import annotations

from kefu.channels.widget.identity import sign_level
from kefu.core.constants import Role
from tests.support.factories import World


async def _secret(api: World, inbox_id: int) -> str:
    r = await api.http.get(f"/api/v1/inboxes/{inbox_id}/identity_secret")
    assert r.status_code == 200, r.text
    return str(r.json()["secret"])


async def test_a_good_signature_sets_the_level(api: World) -> None:
    inbox = await api.inbox()
    secret = await _secret(api, inbox["id"])
    assert len(secret) == 64 and secret == await _secret(api, inbox["id"])
    visitor = await api.visitor(inbox)
    body = {"user_id": "u-1001", "level": "vip", "signature": sign_level(secret, "u-1001", "vip")}
    r = await visitor.client.post(f"/api/v1/widget/{inbox['public_key']}/identify", json=body, headers=visitor.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"contact_id": visitor.contact_id, "tier": "vip"}
    contact = (await api.http.get(f"/api/v1/contacts/{visitor.contact_id}")).json()
    assert (contact["tier"], contact["attributes"]) == ("vip", {"external_id": "u-1001"})


async def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(api: World) -> None:
    inbox = await api.inbox()
    other = await api.inbox()
    visitor = await api.visitor(inbox)
    url = f"/api/v1/widget/{inbox['public_key']}/identify"
    good_for_gold = sign_level(await _secret(api, inbox["id"]), "u-1", "gold")
    other_inbox_sig = sign_level(await _secret(api, other["id"]), "u-1", "vip")
    for body in (
        {"user_id": "u-1", "level": "vip", "signature": good_for_gold},  # signed another level
        {"user_id": "u-2", "level": "gold", "signature": good_for_gold},  # signed another user
        {"user_id": "u-1", "level": "vip", "signature": other_inbox_sig},  # another inbox's secret
    ):
        r = await visitor.client.post(url, json=body, headers=visitor.headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["message"] == (
            "the level's signature does not match; sign user_id:level with the inbox's identity secret"
        )
    r = await visitor.client.post(url, json={"user_id": "u-1", "level": "vip"}, headers=visitor.headers)
    assert r.status_code == 422
    r = await visitor.client.post(
        url, json={"user_id": "u-1", "level": "strategic", "signature": "00"}, headers=visitor.headers
    )
    assert r.status_code == 422
    r = await visitor.client.post(url, json={"user_id": "u-1", "level": "gold", "signature": good_for_gold})
    assert r.status_code == 401  # no visitor token
    contact = (await api.http.get(f"/api/v1/contacts/{visitor.contact_id}")).json()
    assert (contact["tier"], contact["attributes"]) == ("normal", {})


async def test_only_admins_read_the_secret(api: World) -> None:
    inbox = await api.inbox()
    agent = await api.user(Role.AGENT)
    r = await agent.client.get(f"/api/v1/inboxes/{inbox['id']}/identity_secret")
    assert r.status_code == 403
