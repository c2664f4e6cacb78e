"""Business hours over the live server: GET/PUT /api/v1/account/business_hours (exact bodies, 422 with the
reason and nothing changed, agents may read but not change) and the admin page in three languages."""

from __future__ import annotations

from typing import Any

from kefu.core.constants import Role
from tests.support.factories import World, new_account
from tests.web.conftest import login

URL = "/api/v1/account/business_hours"
CLOSED_WEEK = {d: [] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
DEFAULT = {"timezone": "Asia/Shanghai", "always_open": True, "week": CLOSED_WEEK}
OFFICE = {
    "timezone": "Asia/Taipei",
    "always_open": False,
    "week": {**CLOSED_WEEK, "mon": [{"start": "13:00", "end": "18:00"}, {"start": "09:00", "end": "12:00"}],
             "sat": [{"start": "22:00", "end": "02:00"}]},
}  # fmt: skip


async def hours(api: World) -> dict[str, Any]:
    r = await api.http.get(URL)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_default_then_put_then_read_back(api: World) -> None:
    assert await hours(api) == DEFAULT
    r = await api.http.put(URL, json=OFFICE)
    assert r.status_code == 200, r.text
    stored = {
        **OFFICE,
        "week": {**OFFICE["week"], "mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}]},
    }
    assert r.json() == stored  # ranges sorted by start
    assert await hours(api) == stored
    assert (await api.http.get("/api/v1/account")).json()["timezone"] == "Asia/Taipei"
    async with new_account(api.server) as other:  # another account keeps its own (the default)
        assert await hours(other) == DEFAULT
    changed = await api.http.get("/api/v1/events", params={"type": "account.updated"})
    items = changed.json()["items"] if isinstance(changed.json(), dict) else changed.json()
    assert [e["payload"]["business_hours"] for e in items] == [stored]


async def test_bad_hours_are_refused_with_the_reason_and_nothing_changes(api: World) -> None:
    cases = [
        ({"timezone": "Beijing"}, "timezone", "unknown time zone 'Beijing'; use an IANA name such as Asia/Shanghai"),
        ({"week": {"mon": [{"start": "9am", "end": "18:00"}]}}, "week.mon.0.start", "'9am' is not a time of day"),
        ({"week": {"funday": []}}, "week", "unknown day funday; days are mon, tue, wed, thu, fri, sat, sun"),
        ({"always_open": False, "extra": 1}, "extra", "Extra inputs are not permitted"),
    ]
    for body, where, message in cases:
        r = await api.http.put(URL, json=body)
        assert r.status_code == 422, body
        assert where in r.text and message in r.text, r.text
    assert await hours(api) == DEFAULT


async def test_agents_read_the_hours_but_cannot_change_them(api: World) -> None:
    agent = await api.user(Role.AGENT)
    assert (await agent.client.get(URL)).json() == DEFAULT
    r = await agent.client.put(URL, json=OFFICE)
    assert r.status_code == 403
    assert await hours(api) == DEFAULT
    sup = await api.user(Role.SUPERVISOR)
    assert (await sup.client.put(URL, json=OFFICE)).status_code == 200


async def test_admin_page_edits_the_hours_in_three_languages(api: World) -> None:
    admin = await api.user(Role.ADMIN)
    browser = await login(api, admin)
    for lang, title, monday in [
        ("zh_CN", "营业时间", "星期一"),
        ("zh_TW", "營業時間", "星期一"),
        ("en", "Business hours", "Monday"),
    ]:
        page = await browser.http.get(f"/admin/hours?lang={lang}")
        assert page.status_code == 200
        assert f"<h1>{title}</h1>" in page.text and monday in page.text
    form = {"timezone": "Asia/Shanghai", "always_open": "", "mon": "09:00-12:00，13:00-18:00", "sat": "22:00~02:00"}
    r = await browser.post_form("/admin/hours", form)
    assert (r.status_code, r.headers["location"]) == (303, "/admin/hours?saved=1")
    week = (await hours(api))["week"]
    assert week["mon"] == [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}]
    assert (week["sat"], week["sun"]) == ([{"start": "22:00", "end": "02:00"}], [])
    shown = await browser.http.get("/admin/hours?saved=1&lang=en")
    assert 'value="09:00-12:00, 13:00-18:00"' in shown.text and 'id="hours-saved"' in shown.text

    bad = await browser.post_form("/admin/hours", {**form, "tue": "9-5"})
    assert bad.status_code == 422
    assert "&#39;9&#39; is not a time of day as HH:MM" in bad.text
    assert 'value="9-5"' in bad.text  # the form keeps what was typed
    not_a_range = await browser.post_form("/admin/hours", {**form, "wed": "09:00"})
    assert not_a_range.status_code == 422
    assert "wed: &#39;09:00&#39; is not a range like 09:00-18:00" in not_a_range.text
    assert (await hours(api))["week"]["tue"] == []  # nothing changed

    agent = await login(api, await api.user(Role.AGENT))
    assert (await agent.http.get("/admin/hours")).status_code == 403
    assert (await agent.post_form("/admin/hours", {**form, "always_open": "1"})).status_code == 403
    assert (await hours(api))["always_open"] is False
