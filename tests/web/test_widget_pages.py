"""/widget.js, /widget/frame and /demo."""

from __future__ import annotations

from tests.support.factories import World


async def test_widget_js_is_javascript_with_labels(api: World) -> None:
    r = await api.client().get("/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert "__KEFU_LABELS__" not in r.text
    assert '"open": "在线客服"' in r.text and '"open": "線上客服"' in r.text and '"open": "Chat with us"' in r.text
    assert "/widget/frame?inbox=" in r.text


async def test_frame_renders_greeting_escaped_in_the_asked_locale(api: World) -> None:
    inbox = await api.inbox(name="Shop <1>", greeting="<img src=x onerror=alert(1)> 欢迎")
    http = api.client()
    zh = await http.get(f"/widget/frame?inbox={inbox['public_key']}&locale=zh_CN")
    assert zh.status_code == 200
    assert 'placeholder="请输入消息…"' in zh.text
    assert "&lt;img src=x onerror=alert(1)&gt; 欢迎" in zh.text
    assert "<title>Shop &lt;1&gt;</title>" in zh.text
    tw = await http.get(f"/widget/frame?inbox={inbox['public_key']}&locale=zh-HK")
    assert 'placeholder="請輸入訊息…"' in tw.text
    en = await http.get(f"/widget/frame?inbox={inbox['public_key']}", headers={"Accept-Language": "en-US"})
    assert 'placeholder="Type a message…"' in en.text
    missing = await http.get("/widget/frame?inbox=nope")
    assert missing.status_code == 404


async def test_demo_embeds_the_widget(api: World) -> None:
    inbox = await api.inbox()
    r = await api.client().get(f"/demo?inbox={inbox['public_key']}&lang=en")
    assert r.status_code == 200
    base = api.server.base_url
    assert (
        f'<script src="{base}/widget.js" data-inbox="{inbox["public_key"]}" data-locale="en" async></script>' in r.text
    )
    assert "<h1>K-Shop</h1>" in r.text
    zh = await api.client().get(f"/demo?inbox={inbox['public_key']}&lang=zh_CN")
    assert "<h1>K 商城</h1>" in zh.text
    assert (await api.client().get("/demo?inbox=nope")).status_code == 404


async def test_favicon_is_served_and_linked_from_every_page(api: World) -> None:
    from kefu.web.templating import STATIC

    http = api.client()
    r = await http.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/x-icon"
    assert r.headers["cache-control"] == "public, max-age=86400"
    assert r.content == (STATIC / "favicon.ico").read_bytes()
    assert r.content[:6] == b"\x00\x00\x01\x00\x01\x00"  # an icon file holding one image
    assert r.content[22:30] == b"\x89PNG\r\n\x1a\n"  # a 32x32 PNG inside
    inbox = await api.inbox()
    for path in ("/login", f"/demo?inbox={inbox['public_key']}", f"/widget/frame?inbox={inbox['public_key']}"):
        page = await http.get(path)
        assert page.status_code == 200, path
        assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in page.text, path
