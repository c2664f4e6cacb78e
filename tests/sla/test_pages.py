"""The SLA admin pages (/admin/sla) over HTTP with a login session, and the countdown badge in the
workspace: the matrix, a policy set from the form, a refused form shown again, a calendar with a make-up
day and an iCal upload, agents refused."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from kefu.core.constants import Role
from tests.support.factories import World
from tests.web.conftest import login

FIXTURE = Path(__file__).parent / "fixtures" / "cn_holidays_2026.ics"


async def test_policy_matrix_page_and_form(api: World) -> None:
    browser = await login(api, api.admin)
    page = await browser.http.get("/admin/sla/policies")
    assert page.status_code == 200
    assert 'id="sla-matrix"' in page.text and 'href="/admin/sla/policies"' in page.text
    form = {"priority": "p2", "tier": "gold", "first_response_min": "45", "next_response_min": "60",
            "resolution_min": "600", "warn_percent": "75", "calendar_id": ""}  # fmt: skip
    r = await browser.post_form("/admin/sla/policies", form)
    assert (r.status_code, r.headers["location"]) == (303, "/admin/sla/policies")
    (gold,) = [p for p in (await api.http.get("/api/v1/sla/policies")).json() if p["tier"] == "gold"]
    assert (gold["first_response_min"], gold["resolution_min"], gold["warn_fraction"]) == (45, 600, 0.75)
    r = await browser.post_form("/admin/sla/policies", {**form, "first_response_min": "30"})  # changes that cell
    assert r.status_code == 303
    assert [
        p["first_response_min"] for p in (await api.http.get("/api/v1/sla/policies")).json() if p["tier"] == "gold"
    ] == [30]

    bad = await browser.post_form("/admin/sla/policies", {**form, "tier": "vip", "first_response_min": "-10"})
    assert bad.status_code == 422
    assert 'id="form-error"' in bad.text and "first_response_min" in bad.text
    assert 'value="-10"' in bad.text  # the form comes back as typed
    assert [p["tier"] for p in (await api.http.get("/api/v1/sla/policies")).json()].count("vip") == 0


async def test_calendar_pages_days_and_ical_upload(api: World) -> None:
    browser = await login(api, api.admin)
    assert (await browser.http.get("/admin/sla/calendars")).status_code == 200
    week = {
        "mon": "09:00-18:00",
        "tue": "09:00-18:00",
        "wed": "09:00-18:00",
        "thu": "09:00-18:00",
        "fri": "09:00-18:00",
    }
    bad = await browser.post_form(
        "/admin/sla/calendars", {"name": "Office", "timezone": "Asia/Shanghai", **week, "sat": "9-5"}
    )
    assert bad.status_code == 422 and "&#39;9&#39; is not a time of day" in bad.text
    r = await browser.post_form("/admin/sla/calendars", {"name": "Office", "timezone": "Asia/Shanghai", **week})
    assert r.status_code == 303
    url = r.headers["location"]
    assert re.fullmatch(r"/admin/sla/calendars/\d+", url)
    r = await browser.post_form(
        f"{url}/days", {"day": "2026-10-10", "kind": "workday", "name": "国庆节 补班", "hours": "10:00-16:00"}
    )
    assert r.status_code == 303
    clash = await browser.post_form(f"{url}/days", {"day": "2026-10-10", "kind": "holiday", "name": "x", "hours": ""})
    assert clash.status_code == 422
    assert "2026-10-10 is already a workday (国庆节 补班)" in clash.text
    page = await browser.http.get(url)
    assert 'data-day="2026-10-10" data-kind="workday"' in page.text and "10:00-16:00" in page.text
    # The file's 10-10 is a working day too: no contradiction; 38 new dates.
    files = {"file": ("cn_holidays_2026.ics", FIXTURE.read_bytes(), "text/calendar")}
    r = await browser.http.post(f"{url}/import", files=files, data={"csrf_token": browser.csrf})
    assert (r.status_code, r.headers["location"]) == (303, f"{url}?imported=38")
    page = await browser.http.get(f"{url}?imported=38")
    assert page.text.count('data-kind="holiday"') == 33 and page.text.count('data-kind="workday"') == 6
    # The weekly hours are edited on the same page; a bad range is shown again as typed.
    bad = await browser.post_form(
        url, {"name": "Office", "timezone": "Asia/Shanghai", **week, "sat": "10:00-12:00, 11:00-13:00"}
    )
    assert bad.status_code == 422 and "sat: 10:00-12:00 overlaps 11:00-13:00" in bad.text
    assert 'value="10:00-12:00, 11:00-13:00"' in bad.text
    r = await browser.post_form(url, {"name": "Office", "timezone": "Asia/Shanghai", **week, "sat": "10:00-12:00"})
    assert r.status_code == 303
    cal_id = int(url.rsplit("/", 1)[1])
    stored = (await api.http.get(f"/api/v1/sla/calendars/{cal_id}")).json()
    assert (stored["week"]["sat"], stored["week"]["sun"]) == ([{"start": "10:00", "end": "12:00"}], [])
    files = {"file": ("bad.ics", b"not a calendar", "text/calendar")}
    bad = await browser.http.post(f"{url}/import", files=files, data={"csrf_token": browser.csrf})
    assert bad.status_code == 422 and "not an iCalendar file" in bad.text


async def test_agents_get_the_403_page_for_sla_settings(api: World) -> None:
    agent = await api.user(Role.AGENT)
    browser = await login(api, agent)
    for url in ("/admin/sla/policies", "/admin/sla/calendars"):
        assert (await browser.http.get(url)).status_code == 403


async def test_the_workspace_shows_the_countdown_badge(api: World) -> None:
    _, conv = await api.conversation("在吗？")
    for _ in range(100):
        due = (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()["sla_due_at"]
        if due:
            break
        await asyncio.sleep(0.1)
    browser = await login(api, api.admin)
    page = await browser.http.get(f"/app?c={conv['id']}")
    assert page.status_code == 200
    badge = re.search(rf'id="sla-{conv["id"]}" data-sla-due="([^"]+)" data-sla-warn="([^"]+)"', page.text)
    assert badge is not None, page.text
    assert 'id="conv-sla"' in page.text
    assert "/static/js/sla-countdown.js" in page.text or "js/sla-countdown." in page.text
