"""Crawl the whole UI in the real browser as every kind of user, in every language (tests/browser/crawl.py).

An account with content on every page — conversations (one the agent's, one nobody's, one resolved, notes and
labels), FAQ entries and an article, the demo intents and order flow, a team, an API token — is crawled as its
admin, a supervisor and an agent, and as a customer on the demo shop, the help centre and the widget, in zh_CN,
zh_TW and en. Any 5xx, console error, uncaught page error, missing asset or untranslated text fails the test;
the number of pages each crawl visited is printed and held to a minimum so the crawl cannot pass by visiting
nothing.

KEFU_CRAWL_LANGS="zh_TW" runs one language; KEFU_CRAWL_DUMP=1 (with -s) prints every page pattern visited."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from kefu.bot.demo import seed_bot
from kefu.core.constants import Role
from kefu.core.eventlog import Event
from kefu.core.listeners_models import DeadLetter, DeadLetterStatus
from kefu.knowledge.demo import seed_knowledge
from tests.browser.conftest import NewContext
from tests.browser.crawl import Catalog, Crawler, Report
from tests.browser.flows import WIDGET_FRAME
from tests.support.factories import UserHandle, World
from tests.web.conftest import start_session

pytestmark = pytest.mark.browser

LANGS = ("zh_CN", "zh_TW", "en")
BROWSER_LOCALE = {"zh_CN": "zh-CN", "zh_TW": "zh-TW", "en": "en-US"}
# The fewest pages (patterns) each crawl must reach, per language: far below what it finds today, far above 0.
MINIMUM = {"admin": 40, "supervisor": 20, "agent": 10, "customer": 3}


async def _seed(api: World) -> dict[str, Any]:
    """Names are Chinese so that no person's name is mistaken for an untranslated English message."""
    r = await api.http.patch(f"/api/v1/users/{api.admin.id}", json={"name": "管理员老王"})
    assert r.status_code == 200, r.text
    supervisor = await api.user(Role.SUPERVISOR, name="主管小周")
    agent = await api.user(Role.AGENT, name="客服小李")
    async with api.server.state.sessionmaker() as session:
        assert await seed_knowledge(session, api.account_id) > 0
    async with api.server.state.sessionmaker() as session:
        assert await seed_bot(session, api.account_id, api.server.base_url, train=False)
    r = await api.http.post(
        "/api/v1/knowledge/articles",
        json={"title": "退换货政策", "body": "收到商品 7 天内可申请退货。", "status": "published"},
    )
    assert r.status_code == 201, r.text
    inbox = await api.inbox(name="官网客服", greeting="您好，有什么可以帮您？")
    r = await api.http.post("/api/v1/teams", json={"name": "售后组", "member_ids": [agent.id, supervisor.id]})
    assert r.status_code == 201, r.text
    r = await api.http.post("/api/v1/api_tokens", json={"name": "订单系统"})
    assert r.status_code == 201, r.text
    week = {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}
    r = await api.http.post("/api/v1/sla/calendars", json={"name": "办公时间", "week": week})
    assert r.status_code == 201, r.text
    r = await api.http.post(
        f"/api/v1/sla/calendars/{r.json()['id']}/days", json={"day": "2026-10-01", "kind": "holiday", "name": "国庆节"}
    )
    assert r.status_code == 201, r.text

    hosts = (await api.http.get("/api/v1/account/outbound_hosts")).json()["hosts"]
    r = await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": [*hosts, "127.0.0.1:9"]})
    assert r.status_code == 200, r.text
    r = await api.http.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/kefu", "events": ["message.created"]})
    assert r.status_code == 201, r.text

    mine_visitor = await api.visitor(inbox, name="张三")
    own = (await mine_visitor.say("我的订单什么时候发货？"))["conversation_id"]
    for path, body in (
        (f"/api/v1/conversations/{own}/assignment", {"assignee_id": agent.id}),
        (f"/api/v1/conversations/{own}/messages", {"content": "这位是老客户", "kind": "note"}),
        (f"/api/v1/conversations/{own}/labels", {"label": "物流"}),
    ):
        r = await api.http.post(path, json=body)
        assert r.status_code in (200, 201), r.text
    other_visitor = await api.visitor(inbox, name="李四")
    await other_visitor.say("可以开发票吗？")
    done_visitor = await api.visitor(inbox, name="王五")
    done = (await done_visitor.say("谢谢，问题解决了"))["conversation_id"]
    r = await api.http.post(f"/api/v1/conversations/{done}/resolve")
    assert r.status_code == 200, r.text
    r = await api.http.post("/api/v1/tickets", json={"subject": "订单未发货", "conversation_id": own, "priority": "p2"})
    assert r.status_code == 201, r.text
    r = await api.http.post(f"/api/v1/tickets/{r.json()['id']}/notes", json={"body": "已催仓库发货"})
    assert r.status_code == 201, r.text
    await _dead_letter(api)
    return {"inbox": inbox, "supervisor": supervisor, "agent": agent}


async def _dead_letter(api: World) -> None:
    """A dead letter of the account, so Admin → Event listeners shows one with its buttons."""
    async with api.server.state.sessionmaker() as session:
        q = select(Event.id).where(Event.account_id == api.account_id).order_by(Event.id.desc()).limit(1)
        event_id = (await session.execute(q)).scalar_one()
        session.add(
            DeadLetter(
                listener="crm.sync", event_id=event_id, account_id=api.account_id, attempts=5,
                last_error="ConnectError: crm.example:443", status=DeadLetterStatus.DEAD,
            )
        )  # fmt: skip
        await session.commit()


async def _logged_in(new_context: NewContext, api: World, user: UserHandle, lang: str) -> Any:
    ctx = await new_context(BROWSER_LOCALE[lang])
    token, _ = await start_session(api, user)
    await ctx.add_cookies([{"name": "kefu_session", "value": token, "url": api.server.base_url}])
    return ctx


def _open_the_widget(crawler: Crawler) -> Any:
    """On the demo shop: open the chat, check the frame's texts, close it with Esc."""

    async def after_load(page: Any, url: str) -> None:
        bubble = page.locator("[data-kefu-bubble]")
        if "/demo" not in url or await bubble.count() == 0:
            return
        await bubble.click()
        frame = page.frame_locator(WIDGET_FRAME)
        await expect(frame.locator("body[data-ws=open]")).to_have_count(1)
        texts = await frame.locator("body").evaluate(
            "(b) => Array.from(b.querySelectorAll('*'), (e) => [e.getAttribute('placeholder'), e.getAttribute("
            "'aria-label'), e.getAttribute('title'), ...Array.from(e.childNodes).filter((n) => n.nodeType === 3)"
            ".map((n) => n.textContent)]).flat().filter(Boolean).map((t) => t.trim()).filter(Boolean)"
        )
        crawler.check_texts(f"the widget on {url}", texts)
        await frame.locator("#w-input").press("Escape")
        await expect(page.locator(WIDGET_FRAME)).to_be_hidden()

    return after_load


async def test_every_page_every_role_every_language(api: World, new_context: NewContext) -> None:
    seeded = await _seed(api)
    key = seeded["inbox"]["public_key"]
    catalog = Catalog.load()
    base = api.server.base_url
    # /admin/listeners is a start page too: supervisors and agents must get its 403 page (admins reach it by link)
    staff_starts = ["/app", "/admin", "/admin/knowledge", "/admin/bot", "/admin/listeners", f"/help/{key}"]
    staff_starts.append(f"/demo?inbox={key}")
    customer_starts = [f"/demo?inbox={key}", f"/help/{key}"]
    users = {"admin": api.admin, "supervisor": seeded["supervisor"], "agent": seeded["agent"]}
    reports: list[tuple[str, Report]] = []
    langs = os.environ.get("KEFU_CRAWL_LANGS", " ".join(LANGS)).split()
    for lang in langs:
        for role, user in users.items():
            ctx = await _logged_in(new_context, api, user, lang)
            crawler = Crawler(ctx, base, lang, catalog=catalog)
            report = await crawler.crawl([f"{s}{'&' if '?' in s else '?'}lang={lang}" for s in staff_starts])
            reports.append((role, report))
            await ctx.close()
        ctx = await new_context(BROWSER_LOCALE[lang])
        crawler = Crawler(ctx, base, lang, catalog=catalog)
        crawler.after_load = _open_the_widget(crawler)
        starts = [f"{s}{'&' if '?' in s else '?'}lang={lang}" for s in customer_starts]
        starts.append(f"/widget/frame?inbox={key}&locale={lang}")
        reports.append(("customer", await crawler.crawl(starts)))
        await ctx.close()

    for role, report in reports:
        print(report.summary(role))
        if os.environ.get("KEFU_CRAWL_DUMP"):
            print("\n".join([*report.visited, "--", *report.fragments, "--", *report.clicked]))
    problems = [p for _, report in reports for p in report.problems]
    assert problems == [], "\n".join(problems)
    for role, report in reports:
        assert len(report.visited) >= MINIMUM[role], (role, report.locale, report.visited)
    reached = {role: {p for who, r in reports if who == role for p in r.visited} for role in MINIMUM}
    must_reach = {
        "admin": {
            "/app?status=open&view=mine",
            "/app?c={}&status=open&view=all",
            "/admin/inboxes/{id}",
            "/admin/agents",
            "/admin/tokens",
            "/admin/knowledge/faqs/{id}",
            "/admin/knowledge/articles/{id}",
            "/admin/bot/intents/{id}",
            "/admin/bot/flows/{id}",
            "/admin/bot/settings",
            "/admin/bot/texts",
            "/admin/listeners",
            "/admin/webhooks",
            "/admin/webhooks/{id}",
            "/admin/sla/policies",
            "/admin/sla/calendars/{id}",
        },
        "supervisor": {
            "/admin/teams",
            "/admin/knowledge/faqs/{id}",
            "/admin/bot/flows/{id}",
            "/admin/sla/calendars/{id}",
        },
        "agent": {"/app?status=open&view=mine", "/app?c={}&status=open&view=all", "/help/{id}"},
        "customer": {"/demo?inbox={}", "/help/{id}", "/help/{id}?q="}
        | {f"/widget/frame?inbox={{}}&locale={lang}" for lang in langs},
    }
    for role, pages in must_reach.items():
        assert pages <= reached[role], (role, pages - reached[role])


SELFTEST_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>t</title>
<link rel="icon" href="/static/no-such-icon.ico"></head><body>
<p>Mine</p><p>我的</p><span title="Log out">x</span>
<a href="/selftest/broken">broken</a> <a href="/selftest/item/1">1</a> <a href="/selftest/item/2">2</a>
<a href="/logout">out</a> <a href="/selftest/item/3?lang=en">en</a> <a href="https://example.com/">away</a>
<img src="/static/no-such-image.png" alt="">
<script>console.error("boom"); setTimeout(() => { throw new Error("kaput"); }, 0);</script>
</body></html>"""


async def test_the_crawler_reports_what_is_broken(api: World, new_context: NewContext) -> None:
    """The crawler itself: each kind of problem is reported once, with the page it was on; links are deduplicated
    by pattern; logout, language and foreign links are not followed."""
    base = api.server.base_url
    ctx = await new_context("zh-CN")
    served: list[str] = []

    async def fake(route: Any) -> None:
        path = route.request.url[len(base) :]
        served.append(path)
        if path == "/selftest/broken":
            await route.fulfill(status=500, body="oops", content_type="text/plain")
        else:
            await route.fulfill(status=200, body=SELFTEST_PAGE, content_type="text/html; charset=utf-8")

    await ctx.route(f"{base}/selftest/**", fake)
    report = await Crawler(ctx, base, "zh_CN", catalog=Catalog.load()).crawl(["/selftest/start?lang=zh_CN"])
    assert served == ["/selftest/start?lang=zh_CN", "/selftest/broken", "/selftest/item/1"]
    assert report.visited == ["/selftest/start", "/selftest/broken", "/selftest/item/{id}"]
    start, item = f"{base}/selftest/start?lang=zh_CN", f"{base}/selftest/item/1"
    problems = sorted(set(report.problems))
    assert problems == sorted(
        {
            f"[zh_CN] untranslated 'Mine' on {start}",
            f"[zh_CN] untranslated 'Log out' on {start}",
            f"[zh_CN] untranslated 'Mine' on {item}",
            f"[zh_CN] untranslated 'Log out' on {item}",
            f"[zh_CN] 500 for {base}/selftest/broken (on {base}/selftest/broken)",
            f"[zh_CN] asset {base}/static/no-such-image.png answered 404 (on {start})",
            f"[zh_CN] asset {base}/static/no-such-icon.ico answered 404 (on {start})",
            f"[zh_CN] asset {base}/static/no-such-image.png answered 404 (on {item})",
            f"[zh_CN] console error on {start}: boom",
            f"[zh_CN] console error on {item}: boom",
            f"[zh_CN] uncaught error on {start}: kaput",
            f"[zh_CN] uncaught error on {item}: kaput",
        }
    )


def test_patterns_and_catalog() -> None:
    from tests.browser.crawl import pattern_of

    assert pattern_of("http://h/app/c/12?lang=en") == "/app/c/{id}"
    assert pattern_of("http://h/app?view=mine&status=open&c=7") == "/app?c={}&status=open&view=mine"
    assert pattern_of("http://h/help/Ab3dE5fG7hJ9kL1m?q=退货") == "/help/{id}?q={}"
    assert pattern_of("http://h/admin/knowledge?kind=faqs&cursor=") == "/admin/knowledge?cursor=&kind=faqs"
    catalog = Catalog.load()
    assert {"Mine", "Log out", "Unassigned"} <= catalog.forbidden["zh_CN"]
    assert {"Mine", "Log out"} <= catalog.forbidden["zh_TW"]
    assert not any("%(" in text for text in catalog.forbidden["zh_CN"])
    assert catalog.untranslated("zh_CN", ["我的", "Mine", "kefu", "Visitor #3"]) == ["Mine"]
    assert catalog.untranslated("en", ["Mine", "我的"]) == []
