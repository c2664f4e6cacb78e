"""Hostile input found by fuzzing the API: each gets a precise 4xx, never a 500, and nothing is stored."""

from __future__ import annotations

import json

from tests.support.factories import PASSWORD, World, uniq
from tests.web.conftest import login

HUGE = 99999999999999999999  # > 2^63: SQLite's driver cannot even bind it
HX = {"HX-Request": "true"}
NOT_VISIBLE = "must contain visible text (not only spaces, control or zero-width characters)"


def fields(r: object) -> dict[str, str]:
    body = r.json()  # type: ignore[attr-defined]
    assert body["error"]["code"] == "validation_error", body
    return {d["field"]: d["message"] for d in body["error"]["details"]}


async def test_ids_beyond_64_bits_are_422_everywhere(api: World) -> None:
    visitor, conv = await api.conversation()
    anonymous = api.client()
    r = await anonymous.get(f"/api/v1/attachments/{HUGE}/x")
    assert r.status_code == 422
    assert fields(r) == {"path.attachment_id": "Input should be less than or equal to 9223372036854775807"}
    r = await anonymous.get("/api/v1/attachments/0/x")
    assert r.status_code == 422

    r = await api.http.get(f"/api/v1/conversations/{conv['id']}/messages", params={"after_id": HUGE})
    assert r.status_code == 422
    assert fields(r) == {"query.after_id": "Input should be less than or equal to 9223372036854775807"}
    r = await api.http.get(f"/api/v1/conversations/{HUGE}")
    assert r.status_code == 422
    r = await api.http.get("/api/v1/events", params={"after_id": HUGE})
    assert r.status_code == 422

    # the widget's fast route validates the body the same way
    r = await visitor.client.post(
        f"/api/v1/widget/{visitor.inbox_key}/messages",
        headers=visitor.headers,
        content=json.dumps({"content": "看图", "attachments": [{"id": HUGE}]}),
    )
    assert r.status_code == 422
    assert fields(r) == {"attachments.0.id": "Input should be less than or equal to 9223372036854775807"}
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/assignment", json={"assignee_id": HUGE})
    assert r.status_code == 422
    r = await api.http.post("/api/v1/teams", json={"name": uniq("t"), "member_ids": [HUGE]})
    assert r.status_code == 422
    assert [m["content"] for m in (await visitor.messages())["messages"]] == ["你好，我想咨询一下订单"]
    assert (await api.http.get("/api/v1/teams")).json() == []


async def test_explicit_null_on_a_field_that_cannot_be_null_is_422(api: World) -> None:
    agent = await api.user()
    r = await api.http.patch(f"/api/v1/users/{agent.id}", json={"password": None})
    assert r.status_code == 422
    assert fields(r) == {"password": "Value error, may be left out, but not null"}
    r = await api.http.patch(f"/api/v1/users/{agent.id}", json={"name": None, "role": None})
    assert fields(r) == {
        "name": "Value error, may be left out, but not null",
        "role": "Value error, may be left out, but not null",
    }
    got = (await api.http.get(f"/api/v1/users/{agent.id}")).json()
    assert (got["name"], got["role"]) == ("Agent", "agent")
    # null still clears what may be cleared
    r = await api.http.patch(f"/api/v1/users/{agent.id}", json={"locale": None})
    assert r.status_code == 200 and r.json()["locale"] is None
    _, conv = await api.conversation()
    r = await api.http.patch(f"/api/v1/conversations/{conv['id']}", json={"team_id": None})
    assert r.status_code == 200 and r.json()["team_id"] is None
    r = await api.http.patch(f"/api/v1/conversations/{conv['id']}", json={"priority": None})
    assert fields(r) == {"priority": "Value error, may be left out, but not null"}
    # and the OpenAPI document says which is which
    spec = (await api.http.get("/api/v1/openapi.json")).json()["components"]["schemas"]
    assert spec["UserUpdate"]["properties"]["password"] == {
        "maxLength": 200,
        "minLength": 8,
        "title": "Password",
        "type": "string",
    }
    assert {"type": "null"} in spec["UserUpdate"]["properties"]["locale"]["anyOf"]


async def test_values_of_another_json_type_are_not_converted(api: World) -> None:
    agent = await api.user()
    r = await api.http.patch(f"/api/v1/users/{agent.id}", json={"is_active": 0})
    assert r.status_code == 422
    assert fields(r) == {"is_active": "Value error, must be true or false"}
    r = await api.http.post("/api/v1/teams", json={"name": uniq("t"), "member_ids": [str(agent.id)]})
    assert fields(r) == {"member_ids": "Value error, must be a number"}
    r = await api.http.put("/api/v1/bot/settings", json={"oos_threshold": False})
    assert fields(r) == {"oos_threshold": "Value error, must be a number"}
    assert (await api.http.get(f"/api/v1/users/{agent.id}")).json()["is_active"] is True
    assert (await api.http.get("/api/v1/teams")).json() == []


async def test_snooze_times_out_of_range_are_422(api: World) -> None:
    _, conv = await api.conversation()
    path = f"/api/v1/conversations/{conv['id']}/status"
    r = await api.http.post(path, json={"status": "snoozed", "snoozed_until": "9999-12-31T23:59:59-12:00"})
    assert r.status_code == 422
    assert fields(r) == {"snoozed_until": "Value error, is out of range (it cannot be expressed in UTC)"}
    r = await api.http.post(path, json={"status": "snoozed", "snoozed_until": "0001-01-01T00:00:00+01:00"})
    assert r.status_code == 422
    r = await api.http.post(path, json={"status": "snoozed", "snoozed_until": "2999-01-01T00:00:00Z"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "snoozed_until must be at most 365 days ahead"
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()["status"] == "open"

    # the workspace's status form converts the browser's local time itself
    browser = await login(api, api.admin)
    h = {**HX, "X-CSRF-Token": browser.csrf}
    data = {"status": "snoozed", "preset": "custom", "until": "9999-12-31T23:59", "tz_offset": "720"}
    r = await browser.http.post(f"/app/c/{conv['id']}/status", data=data, headers=h)
    assert r.status_code == 422
    assert "最长只能延后 365 天" in r.text  # said in the page's language
    data["until"] = "9999-12-31T23:59:59-12:00"
    r = await browser.http.post(f"/app/c/{conv['id']}/status?lang=en", data=data, headers=h)
    assert r.status_code == 422
    assert "A snooze ends at most 365 days from now." in r.text
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()["status"] == "open"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_deeply_nested_json_is_refused(api: World) -> None:
    deep = nested(100_000)
    r = await api.http.post(
        "/api/v1/knowledge/import", content=deep.encode(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "bad_request",
            "message": "import nests deeper than 8 levels; entries are flat objects",
            "details": {"code": "json_too_deep", "params": {"max_depth": 8}},
        }
    }
    r = await api.http.post(
        "/api/v1/knowledge/import",
        files={"file": ("faq.json", ("[" * 20 + "{}" + "]" * 20).encode(), "application/json")},
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "import nests deeper than 8 levels; entries are flat objects"
    # any JSON body: too deep to parse, or parsed but deeper than a request may nest
    r = await api.http.post(
        "/api/v1/contacts",
        content=f'{{"name": "x", "attributes": {{"a": {deep}}}}}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert r.json()["error"]["code"] in ("bad_request", "invalid_json", "validation_error")
    attributes: dict[str, object] = {}
    inner = attributes
    for _ in range(40):
        inner["a"] = {}
        inner = inner["a"]  # type: ignore[assignment]
    r = await api.http.post("/api/v1/contacts", json={"name": "deep", "attributes": attributes})
    assert r.status_code == 422
    assert fields(r) == {"attributes": "Value error, nests deeper than 32 levels"}
    assert (await api.http.get("/api/v1/contacts")).json()["items"] == []
    assert (await api.http.get("/api/v1/knowledge/faqs")).json()["items"] == []


async def test_invisible_text_and_nul_are_refused(api: World) -> None:
    visitor, conv = await api.conversation()
    contacts = (await api.http.get("/api/v1/contacts")).json()["items"]
    path = f"/api/v1/conversations/{conv['id']}/messages"
    for content in ("\u200b\u200b\u200b", "\x00", "\u3000\ufeff\u2060", "\x07"):
        r = await api.http.post(path, json={"content": content})
        assert r.status_code == 422, content
        assert fields(r) == {
            "content": "Value error, " + (NOT_VISIBLE if content != "\x00" else "must not contain NUL characters")
        }
        r = await visitor.client.post(
            f"/api/v1/widget/{visitor.inbox_key}/messages", headers=visitor.headers, json={"content": content}
        )
        assert r.status_code == 422, content
    r = await api.http.post(path, json={"content": "ok\x00"})
    assert fields(r) == {"content": "Value error, must not contain NUL characters"}
    r = await api.http.post("/api/v1/knowledge/faqs", json={"question": "退货?", "answer": "\x01"})
    assert fields(r) == {"answer": "Value error, " + NOT_VISIBLE}
    r = await api.http.post("/api/v1/knowledge/faqs", json={"question": "\u200d", "answer": "七天"})
    assert fields(r) == {"question": "Value error, " + NOT_VISIBLE}
    r = await api.http.post("/api/v1/contacts", json={"name": "a\x00b"})
    assert fields(r) == {"name": "Value error, must not contain NUL characters"}
    r = await api.http.post("/api/v1/contacts", json={"attributes": {"k\x00": 1}})
    assert fields(r) == {"attributes": "Value error, must not contain NUL characters"}
    r = await api.http.post("/api/v1/inboxes", json={"name": "\u2063"})
    assert fields(r) == {"name": "Value error, " + NOT_VISIBLE}

    assert len((await api.http.get(path)).json()) == 1
    assert (await api.http.get("/api/v1/knowledge/faqs")).json()["items"] == []
    assert (await api.http.get("/api/v1/contacts")).json()["items"] == contacts
    assert len((await api.http.get("/api/v1/inboxes")).json()) == 1
    # visible text with invisible characters in it is fine
    r = await api.http.post(path, json={"content": "\u200b好\u200b"})
    assert r.status_code == 201


async def test_405_names_every_method_of_the_path(api: World) -> None:
    r = await api.http.options("/api/v1/teams")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.json() == {
        "error": {"code": "method_not_allowed", "message": "OPTIONS is not allowed here; use GET, POST"}
    }
    r = await api.http.put("/api/v1/knowledge/faqs/1")
    assert r.status_code == 405
    assert r.headers["allow"] == "DELETE, GET, PATCH"


async def test_login_with_the_user_left_as_it_was(api: World) -> None:
    """The refused PATCH {"password": null} changed nothing: the password still works."""
    agent = await api.user()
    await api.http.patch(f"/api/v1/users/{agent.id}", json={"password": None})
    c = api.client()
    r = await c.post("/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD})
    assert r.status_code == 200


async def test_a_page_given_an_id_beyond_64_bits_is_422_not_500(api: World) -> None:
    """The workspace's own routes take plain ints; the error handlers' net turns the database driver's
    overflow into a 422."""
    browser = await login(api, api.admin)
    r = await browser.http.get(f"/app/c/{HUGE}/head")
    assert r.status_code == 422
    assert r.json() == {"error": {"code": "validation_error", "message": "a number in the request is out of range"}}
