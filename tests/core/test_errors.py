"""Bad input gets a precise 4xx, never a 500, never a half-written record."""

from __future__ import annotations

from tests.support.factories import World


async def test_malformed_json_is_400(api: World) -> None:
    _, conv = await api.conversation()
    r = await api.http.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        content=b'{"content": "hi"',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json() == {"error": {"code": "invalid_json", "message": "request body is not valid JSON"}}


async def test_validation_errors_name_the_field(api: World) -> None:
    r = await api.http.post("/api/v1/users", json={"email": "not-an-email", "name": "", "password": "short"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"email", "name", "password"}
    assert r.json()["error"]["code"] == "validation_error"

    _, conv = await api.conversation()
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "   "})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "content: Value error, must contain visible text (not only spaces, control or zero-width characters)"
    )
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "x", "bogus": 1})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "bogus"


async def test_unknown_ids_and_routes_are_404(api: World) -> None:
    r = await api.http.get("/api/v1/conversations/999999999")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "conversation 999999999 not found"}}
    r = await api.http.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    r = await api.http.post("/api/v1/conversations/1/assignment", json={"assignee_id": 999999999})
    assert r.status_code == 404


async def test_message_over_the_size_limit_is_413_and_not_stored(api: World) -> None:
    visitor, conv = await api.conversation()
    limit = api.server.settings.max_message_chars
    path = f"/api/v1/conversations/{conv['id']}/messages"
    r = await api.http.post(path, json={"content": "字" * (limit + 1)})
    assert r.status_code == 413
    assert r.json()["error"]["message"] == f"message is {limit + 1:,} characters; the limit is {limit:,}"
    r = await visitor.client.post(
        f"/api/v1/widget/{visitor.inbox_key}/messages", headers=visitor.headers, json={"content": "a" * (limit + 1)}
    )
    assert r.status_code == 413
    assert len((await api.http.get(path)).json()) == 1
    r = await api.http.post(path, json={"content": "字" * limit})
    assert r.status_code == 201


async def test_bad_cursor_and_filters_are_4xx(api: World) -> None:
    r = await api.http.get("/api/v1/conversations", params={"cursor": "%%%garbage"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "query.cursor"
    r = await api.http.get("/api/v1/contacts", params={"cursor": "1_2"})  # a by-time cursor on a by-id list
    assert r.status_code == 422
    r = await api.http.get("/api/v1/conversations", params={"status": "closed"})
    assert r.status_code == 422
    r = await api.http.get("/api/v1/conversations", params={"limit": 0})
    assert r.status_code == 422


async def test_conflicts_are_409_and_widget_token_checked(api: World) -> None:
    r = await api.http.post("/api/v1/users", json={"email": api.admin.email, "name": "dup", "password": "12345678"})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == f"a user with email {api.admin.email} already exists"
    inbox = await api.inbox()
    c = api.client()
    r = await c.post(f"/api/v1/widget/{inbox['public_key']}/messages", json={"content": "hi"})
    assert r.status_code == 401
    r = await c.post(
        f"/api/v1/widget/{inbox['public_key']}/messages",
        json={"content": "hi"},
        headers={"X-Contact-Token": "forged.token"},
    )
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "invalid contact token"


async def test_api_docs_are_served_without_a_cdn(api: World) -> None:
    r = await api.http.get("/docs")
    assert r.status_code == 200
    assert "/static/docs/swagger-ui-bundle.js" in r.text and "cdn" not in r.text.lower()
    js = await api.http.get("/static/docs/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    r = await api.http.get("/redoc")
    assert r.status_code == 200
    assert "/static/docs/redoc.standalone.js" in r.text and "cdn" not in r.text.lower()
    assert "fonts.googleapis" not in r.text
    assert "img-src 'self' data:" in r.headers["content-security-policy"]  # ReDoc's footer logo stays home
    spec = (await api.http.get("/api/v1/openapi.json")).json()
    assert spec["info"]["title"] == "kefu API" and "/api/v1/conversations" in spec["paths"]
