"""Uploads from the widget and the workspace, signed downloads, limits, and messages that send them."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
from sqlalchemy import func, select

from kefu.attachments.models import Attachment
from kefu.core.constants import Role
from tests.support.factories import Visitor, World, new_account, uniq
from tests.support.files import pdf, png

ALLOWED = "image/png, image/jpeg, image/gif, image/webp, application/pdf, text/plain"


async def _count(world: World) -> int:
    async with world.server.state.sessionmaker() as session:
        return int(
            await session.scalar(select(func.count(Attachment.id)).where(Attachment.account_id == world.account_id))
        )


async def _agent_upload(client: httpx.AsyncClient, name: str, data: bytes, ctype: str) -> httpx.Response:
    return await client.post("/api/v1/attachments", files={"file": (name, data, ctype)})


async def _visitor_upload(v: Visitor, name: str, data: bytes, ctype: str) -> httpx.Response:
    return await v.client.post(
        f"/api/v1/widget/{v.inbox_key}/attachments", files={"file": (name, data, ctype)}, headers=v.headers
    )


def _anonymous(world: World) -> httpx.AsyncClient:
    return world.client()


async def test_agent_uploads_an_image_and_anyone_with_the_url_downloads_the_exact_bytes(api: World) -> None:
    data = png()
    r = await _agent_upload(api.http, "photo.png", data, "image/png")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"].startswith(f"/api/v1/attachments/{body['id']}/")
    assert body == {
        "id": body["id"],
        "name": "photo.png",
        "content_type": "image/png",
        "size": len(data),
        "url": body["url"],
    }
    got = await _anonymous(api).get(body["url"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"] == 'inline; filename="photo.png"'
    assert got.headers["x-content-type-options"] == "nosniff"
    expires = int(body["url"].rsplit("/", 1)[1].split(".")[0])  # the URL's own expiry (1 day, to the hour)
    assert 24 * 3600 <= expires - time.time() <= 25 * 3600
    max_age = int(got.headers["cache-control"].removeprefix("private, max-age="))
    assert abs(max_age - (expires - time.time())) <= 2
    async with api.server.state.sessionmaker() as session:
        row = await session.get(Attachment, body["id"])
        assert row is not None
        assert (row.account_id, row.sha256, row.uploader_type) == (
            api.account_id,
            hashlib.sha256(data).hexdigest(),
            "user",
        )
        assert row.uploader_id == api.admin.id


async def test_customer_uploads_a_pdf_with_a_chinese_name_served_as_a_download(api: World) -> None:
    visitor = await api.visitor(await api.inbox())
    data = pdf()
    r = await _visitor_upload(visitor, "发票 2026.pdf", data, "application/pdf")
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "发票 2026.pdf"
    got = await _anonymous(api).get(r.json()["url"])
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"__ 2026.pdf\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8%202026.pdf"
    )
    assert got.headers["x-content-type-options"] == "nosniff"


async def test_text_is_served_as_utf8_and_a_generic_type_is_taken_from_the_bytes(api: World) -> None:
    r = await _agent_upload(api.http, "../../etc/订单.txt", "订单号 123\n".encode(), "text/plain")
    assert r.status_code == 201, r.text
    assert (r.json()["name"], r.json()["content_type"]) == ("订单.txt", "text/plain")
    got = await _anonymous(api).get(r.json()["url"])
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    assert got.text == "订单号 123\n"
    r = await _agent_upload(api.http, "scan", pdf(), "application/octet-stream")
    assert r.status_code == 201 and r.json()["content_type"] == "application/pdf"


async def _refused(world: World, r: httpx.Response, status: int, code: str, message: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"] == message
    assert await _count(world) == 0


async def test_refusals_say_why_and_store_nothing(api: World) -> None:
    visitor = await api.visitor(await api.inbox())
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    limit = "the file is larger than the limit of 10,485,760 bytes (10 MiB)"
    await _refused(api, await _agent_upload(api.http, "big.png", big, "image/png"), 413, "too_large", limit)
    await _refused(api, await _visitor_upload(visitor, "big.png", big, "image/png"), 413, "too_large", limit)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    await _refused(
        api,
        await _visitor_upload(visitor, "x.svg", svg, "image/svg+xml"),
        415,
        "unsupported_media_type",
        f"files of type image/svg+xml are not accepted; allowed types: {ALLOWED}",
    )
    await _refused(
        api,
        await _agent_upload(api.http, "fake.png", b"<html>not an image</html>", "image/png"),
        415,
        "unsupported_media_type",
        f"the file's content is not image/png; allowed types: {ALLOWED}",
    )
    await _refused(
        api,
        await _agent_upload(api.http, "a.exe", b"MZ\x90\x00", "application/octet-stream"),
        415,
        "unsupported_media_type",
        f"files of type application/octet-stream are not accepted; allowed types: {ALLOWED}",
    )
    await _refused(
        api,
        await _agent_upload(api.http, "bin.txt", b"\xff\xfe\x00\x00", "text/plain"),
        415,
        "unsupported_media_type",
        f"the file's content is not text/plain; allowed types: {ALLOWED}",
    )
    empty = await _visitor_upload(visitor, "empty.png", b"", "image/png")
    await _refused(api, empty, 422, "validation_error", "the file is empty")
    no_login = await _anonymous(api).post("/api/v1/attachments", files={"file": ("a.png", png(), "image/png")})
    await _refused(api, no_login, 401, "unauthorized", "log in or send an API token (Authorization: Bearer …)")
    no_token = await _anonymous(api).post(
        f"/api/v1/widget/{visitor.inbox_key}/attachments", files={"file": ("a.png", png(), "image/png")}
    )
    await _refused(api, no_token, 401, "unauthorized", "missing X-Contact-Token")
    no_file = await api.http.post("/api/v1/attachments", data={"x": "1"})
    assert no_file.status_code == 422 and no_file.json()["error"]["details"][0]["field"] == "file"
    assert await _count(api) == 0


async def test_a_wrong_signature_or_another_attachments_signature_is_404(api: World) -> None:
    first = (await _agent_upload(api.http, "a.png", png(), "image/png")).json()
    second = (await _agent_upload(api.http, "b.png", png(rgb=(0, 0, 255)), "image/png")).json()
    anonymous = _anonymous(api)
    sig = first["url"].rsplit("/", 1)[1]
    # the first character of the signature: the last one may carry unused base64 bits ("A" and "B" can decode
    # to the same bytes), which made this test pass a tampered-looking URL that was not tampered
    base = first["url"][: -len(sig)]
    tampered = base + ("A" if sig[0] != "A" else "B") + sig[1:]
    for url in (tampered, f"/api/v1/attachments/{second['id']}/{sig}", f"/api/v1/attachments/{first['id']}/x"):
        r = await anonymous.get(url)
        assert r.status_code == 404, url
        assert r.json()["error"]["message"] == f"attachment {url.split('/')[4]} not found"
    assert (await anonymous.get(f"/api/v1/attachments/999999999/{sig}")).status_code == 404


async def test_another_account_can_neither_download_nor_send_an_upload(api: World) -> None:
    mine = (await _agent_upload(api.http, "mine.png", png(), "image/png")).json()
    async with new_account(api.server) as b:
        theirs = (await _agent_upload(b.http, "theirs.png", png(), "image/png")).json()
        their_sig = theirs["url"].rsplit("/", 1)[1]
        r = await b.http.get(f"/api/v1/attachments/{mine['id']}/{their_sig}")
        assert r.status_code == 404
        _, conv = await b.conversation("B")
        before = (await b.http.get(f"/api/v1/conversations/{conv['id']}/messages")).json()
        for ref in ({"id": mine["id"]}, mine, {"url": mine["url"]}):
            r = await b.http.post(
                f"/api/v1/conversations/{conv['id']}/messages", json={"content": "look", "attachments": [ref]}
            )
            assert r.status_code == 404, r.text
            assert r.json()["error"]["message"] == f"attachment {mine['id']} not found"
        assert (await b.http.get(f"/api/v1/conversations/{conv['id']}/messages")).json() == before


async def _post(v: Visitor, body: dict[str, Any]) -> httpx.Response:
    return await v.client.post(f"/api/v1/widget/{v.inbox_key}/messages", json=body, headers=v.headers)


async def test_customer_and_agent_send_files_in_messages(api: World) -> None:
    visitor, conv = await api.conversation("我想退货")
    up = (await _visitor_upload(visitor, "damage.png", png(), "image/png")).json()
    forged = {**up, "name": "other.exe", "content_type": "application/x-msdownload", "size": 1, "url": "javascript:x"}
    r = await _post(visitor, {"content": "damage.png", "client_message_id": uniq(), "attachments": [forged]})
    assert r.status_code == 201, r.text
    assert r.json()["attachments"] == [up]  # the stored upload, whatever the request claimed
    agent = await api.user(Role.AGENT)
    seen = (await agent.client.get(f"/api/v1/conversations/{conv['id']}/messages")).json()
    assert seen[-1]["content"] == "damage.png" and seen[-1]["attachments"] == [up]
    img = await agent.client.get(up["url"])
    assert img.status_code == 200 and img.content == png()

    doc = (await _agent_upload(agent.client, "退货单.pdf", pdf(), "application/pdf")).json()
    r = await agent.client.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        json={"content": "退货单.pdf", "attachments": [{"id": doc["id"]}]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["attachments"] == [doc]
    widget = await visitor.messages()
    assert widget["messages"][-1]["attachments"] == [doc]
    assert (await visitor.client.get(doc["url"])).content == pdf()


async def test_a_customer_can_only_send_their_own_uploads(api: World) -> None:
    inbox = await api.inbox()
    alice, bob = await api.visitor(inbox, "Alice"), await api.visitor(inbox, "Bob")
    await alice.say("hi")
    agent_file = (await _agent_upload(api.http, "a.png", png(), "image/png")).json()
    bobs = (await _visitor_upload(bob, "b.png", png(), "image/png")).json()
    for ref in (bobs, agent_file, {"id": 999999999}):
        r = await _post(alice, {"content": "x", "client_message_id": uniq(), "attachments": [ref]})
        assert r.status_code == 404, r.text
        assert r.json()["error"]["message"] == f"attachment {ref['id']} not found"
    r = await _post(alice, {"content": "x", "attachments": [{"name": "a.png"}]})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "attachments.0: Value error, send the id of an uploaded attachment"
    assert [m["content"] for m in (await alice.messages())["messages"]] == ["hi"]
