"""/app: the list, a conversation with its messages and contact, and every action over HTMX forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kefu.core.constants import Role
from tests.support.factories import World
from tests.web.conftest import Browser, login

HX = {"HX-Request": "true"}


async def test_workspace_lists_and_shows_a_conversation_escaped(api: World, admin_browser: Browser) -> None:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox, name="<b>李雷</b>")
    msg = await visitor.say("<script>alert(1)</script> 我的订单呢？")
    conv_id = msg["conversation_id"]
    r = await api.http.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"content": "内部：查一下物流", "kind": "note"}
    )
    assert r.status_code == 201
    page = await admin_browser.http.get(f"/app?c={conv_id}&lang=zh_CN")
    assert page.status_code == 200
    html = page.text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 我的订单呢？" in html
    assert "&lt;b&gt;李雷&lt;/b&gt;" in html
    assert f'id="ci-{conv_id}"' in html
    assert 'class="msg msg-note msg-outgoing"' in html
    assert '<span class="tag tag-note">内部备注</span>' in html
    assert "网站访客" in html  # the widget identity in the contact sidebar


async def test_list_filters(api: World, admin_browser: Browser) -> None:
    _, conv = await api.conversation("first")
    agent = await api.user(Role.AGENT)
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/assignment", json={"assignee_id": agent.id})
    assert r.status_code == 200
    _, other = await api.conversation("second")
    mine = await admin_browser.http.get("/app/list?view=mine&status=open", headers=HX)
    unassigned = await admin_browser.http.get("/app/list?view=unassigned&status=open", headers=HX)
    everything = await admin_browser.http.get("/app/list?view=all&status=all", headers=HX)
    assert (mine.status_code, unassigned.status_code, everything.status_code) == (200, 200, 200)
    assert '<li class="empty">' in mine.text  # the admin has none
    assert f'id="ci-{conv["id"]}"' not in mine.text and f'id="ci-{other["id"]}"' not in mine.text
    assert f'id="ci-{other["id"]}"' in unassigned.text and f'id="ci-{conv["id"]}"' not in unassigned.text
    assert f'id="ci-{other["id"]}"' in everything.text and f'id="ci-{conv["id"]}"' in everything.text
    resolved = await admin_browser.http.get("/app/list?view=all&status=resolved", headers=HX)
    assert f'id="ci-{conv["id"]}"' not in resolved.text


async def test_mine_tab_lists_the_agents_own_conversations_in_every_language(api: World) -> None:
    agent = await api.user(Role.AGENT, name="小李")
    browser = await login(api, agent)
    _, own = await api.conversation("我的")
    _, someone_elses = await api.conversation("别人的")
    _, unassigned = await api.conversation("没人的")
    r = await api.http.post(f"/api/v1/conversations/{own['id']}/assignment", json={"assignee_id": agent.id})
    assert r.status_code == 200
    r = await api.http.post(
        f"/api/v1/conversations/{someone_elses['id']}/assignment", json={"assignee_id": api.admin.id}
    )
    assert r.status_code == 200
    tab = {"zh_CN": "我的", "zh_TW": "我的", "en": "Mine"}
    for lang, label in tab.items():
        full = await browser.http.get(f"/app?view=mine&status=open&lang={lang}")
        part = await browser.http.get(f"/app/list?view=mine&status=open&lang={lang}", headers=HX)
        for r in (full, part):
            assert r.status_code == 200, (lang, r.status_code, r.text[:200])
            assert f'id="ci-{own["id"]}"' in r.text
            assert f'id="ci-{someone_elses["id"]}"' not in r.text and f'id="ci-{unassigned["id"]}"' not in r.text
        assert f'class="active" aria-current="true">{label}</a>' in full.text
    r = await browser.http.get("/app/list?view=me&status=open", headers=HX)
    assert r.status_code == 422


async def test_reply_note_assign_labels_status_change_what_the_api_returns(api: World) -> None:
    agent = await api.user(Role.AGENT, name="客服小李")
    browser = await login(api, agent)
    _, conv = await api.conversation("你好")
    cid = conv["id"]
    h = {**HX, "X-CSRF-Token": browser.csrf}

    r = await browser.http.post(f"/app/c/{cid}/messages", data={"content": "您好！", "kind": "text"}, headers=h)
    assert r.status_code == 201
    assert "您好！" in r.text and "客服小李" in r.text
    r = await browser.http.post(f"/app/c/{cid}/messages", data={"content": "VIP 客户", "kind": "note"}, headers=h)
    assert r.status_code == 201
    msgs = (await api.http.get(f"/api/v1/conversations/{cid}/messages")).json()
    assert [(m["content"], m["kind"]) for m in msgs] == [("你好", "text"), ("您好！", "text"), ("VIP 客户", "note")]
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["assignee_id"] == agent.id  # a reply assigns

    r = await browser.http.post(f"/app/c/{cid}/assign", data={"assignee": "none"}, headers=h)
    assert r.status_code == 200 and 'id="conv-head"' in r.text
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["assignee_id"] is None
    r = await browser.http.post(f"/app/c/{cid}/assign", data={"assignee": str(api.admin.id)}, headers=h)
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["assignee_id"] == api.admin.id
    r = await browser.http.post(f"/app/c/{cid}/assign", data={"assignee": "me"}, headers=h)
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["assignee_id"] == agent.id

    await browser.http.post(f"/app/c/{cid}/labels", data={"label": "退款"}, headers=h)
    await browser.http.post(f"/app/c/{cid}/labels", data={"label": "vip"}, headers=h)
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["labels"] == ["vip", "退款"]
    r = await browser.http.post(f"/app/c/{cid}/labels/remove", data={"label": "vip"}, headers=h)
    assert r.status_code == 200
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["labels"] == ["退款"]

    r = await browser.http.post(f"/app/c/{cid}/status", data={"status": "snoozed", "preset": "4h"}, headers=h)
    assert r.status_code == 200
    got = (await api.http.get(f"/api/v1/conversations/{cid}")).json()
    assert got["status"] == "snoozed" and got["snoozed_until"] is not None
    r = await browser.http.post(f"/app/c/{cid}/status", data={"status": "resolved"}, headers=h)
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["status"] == "resolved"
    r = await browser.http.post(f"/app/c/{cid}/status", data={"status": "open"}, headers=h)
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["status"] == "open"


async def test_snooze_custom_time_uses_the_browser_offset(api: World, admin_browser: Browser) -> None:
    _, conv = await api.conversation("hi")
    h = {**HX, "X-CSRF-Token": admin_browser.csrf}
    day = (datetime.now(UTC) + timedelta(days=30)).date()  # snoozes end within a year
    data = {"status": "snoozed", "preset": "custom", "until": f"{day}T09:30", "tz_offset": "-480"}
    r = await admin_browser.http.post(f"/app/c/{conv['id']}/status", data=data, headers=h)
    assert r.status_code == 200
    got = (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()
    assert got["snoozed_until"].startswith(f"{day}T01:30:00")


async def test_bad_action_shows_an_error_and_changes_nothing(api: World, admin_browser: Browser) -> None:
    _, conv = await api.conversation("hi")
    h = {**HX, "X-CSRF-Token": admin_browser.csrf}
    r = await admin_browser.http.post(f"/app/c/{conv['id']}/messages", data={"content": "   "}, headers=h)
    assert r.status_code == 400
    assert r.text.startswith('<span class="error-fragment">')
    r = await admin_browser.http.post(f"/app/c/{conv['id']}/labels/remove", data={"label": "nope"}, headers=h)
    assert r.status_code == 404
    r = await admin_browser.http.post(
        f"/app/c/{conv['id']}/status", data={"status": "snoozed", "until": "x"}, headers=h
    )
    assert r.status_code == 400
    got = (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()
    assert (got["status"], got["labels"]) == ("open", [])
    assert len((await api.http.get(f"/api/v1/conversations/{conv['id']}/messages")).json()) == 1


async def test_other_accounts_conversation_is_not_found(api: World, server: object) -> None:
    from tests.support.factories import new_account

    async with new_account(api.server) as other:
        _, conv = await other.conversation("secret")
        browser = await login(api, api.admin)
        r = await browser.http.get(f"/app?c={conv['id']}")
        assert r.status_code == 404
        assert "secret" not in r.text
