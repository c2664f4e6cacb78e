"""Settings forms in the browser: every checkbox sits right before its label, on one line."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session
from tests.support.factories import World

pytestmark = pytest.mark.browser

# page → the labels of its checkboxes that must be on one line (short ones; long ones may wrap, as text does)
FORMS = {
    "/admin/inboxes": "#new-inbox",
    "/admin/teams": "#new-team",
    "/admin/knowledge/faqs/new": "form.stack",
    "/admin/knowledge": "#kb-import",
    "/admin/bot/settings": "#bot-settings",
    "/admin/bot/flows/new": "#flow-form",
    "/admin/hours": "#hours-form",
    "/admin/bot/intents": "#new-intent",
    "/admin/routing/priority": "#priority-form",
    "/admin/tickets/fields": "#field-form",
}

_MEASURE = """(label) => {
  const box = label.querySelector("input[type=checkbox]").getBoundingClientRect();
  const range = document.createRange();
  range.setStartAfter(label.querySelector("input[type=checkbox]"));
  range.setEnd(label, label.childNodes.length);
  const lines = Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
  const text = range.toString().trim();
  return { text, box: { x: box.x, y: box.y, w: box.width, h: box.height },
           first: lines.length ? { x: lines[0].x, y: lines[0].y, h: lines[0].height } : null,
           lines: new Set(lines.map((r) => Math.round(r.y))).size,
           room: label.parentElement.getBoundingClientRect().width };
}"""


def _check(page_path: str, m: dict[str, Any]) -> list[str]:
    where = f"{page_path} {m['text']!r}"
    box, first = m["box"], m["first"]
    problems = []
    if box["w"] > 20:
        problems.append(f"{where}: checkbox is {box['w']:.0f} px wide")
    if first is None:
        return [*problems, f"{where}: no label text"]
    gap = first["x"] - (box["x"] + box["w"])
    if not 0 <= gap <= 12:
        problems.append(f"{where}: label starts {gap:.0f} px from its checkbox")
    centre, line_centre = box["y"] + box["h"] / 2, first["y"] + first["h"] / 2
    if abs(centre - line_centre) > 6:
        problems.append(f"{where}: label's first line is {line_centre - centre:.0f} px below the checkbox's centre")
    # A label that fits in the form's width is not broken over lines (the bug was "启/用", one character a line).
    if len(m["text"]) <= 12 and m["lines"] != 1:
        problems.append(f"{where}: a short label takes {m['lines']} lines")
    return problems


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_checkboxes_sit_next_to_their_labels_on_one_line(api: World, new_context: NewContext, lang: str) -> None:
    r = await api.http.post("/api/v1/teams", json={"name": "售后组"})
    assert r.status_code == 201, r.text
    ctx = await new_context()
    page = await agent_session(ctx, api, api.admin, lang)
    problems: list[str] = []
    measured = 0
    for path, form in FORMS.items():
        response = await page.goto(f"{api.server.base_url}{path}?lang={lang}")
        assert response is not None and response.status == 200, path
        labels = page.locator(f"{form} label:has(input[type=checkbox])")
        count = await labels.count()
        assert count >= 1, f"{path}: no checkbox in {form}"
        for i in range(count):
            problems += _check(path, await labels.nth(i).evaluate(_MEASURE))
            measured += 1
        if path == "/admin/bot/settings":
            await screenshot(page, f"bot-settings-checkboxes-{lang}")
    assert problems == []
    assert measured >= 10  # inbox 1, team members ≥ 1, FAQ 1, import 1, bot settings 4, flow 1, hours 1, intent 1
