"""Contact tiers: a closed set, validated on the way in, normalised by migration 0011, shown translated."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from kefu.core.constants import ContactTier
from kefu.core.db import make_engine
from kefu.core.migrate import upgrade
from kefu.main import create_app
from kefu.settings import Settings
from kefu.web.templating import environment
from tests.support.factories import World

TIERS = ["normal", "vip", "gold", "strategic", "value", "potential", "churn_risk"]


def test_the_tiers() -> None:
    assert [str(t) for t in ContactTier] == TIERS


async def test_api_takes_each_tier_and_refuses_others(api: World) -> None:
    for tier in TIERS:
        r = await api.http.post("/api/v1/contacts", json={"name": f"c-{tier}", "tier": tier})
        assert (r.status_code, r.json()["tier"]) == (201, tier), r.text
    r = await api.http.post("/api/v1/contacts", json={"name": "no tier"})
    assert (r.status_code, r.json()["tier"]) == (201, "normal")
    cid = r.json()["id"]
    for bad in ("platinum", "VIP", "", "vip "):
        r = await api.http.post("/api/v1/contacts", json={"name": "x", "tier": bad})
        assert r.status_code == 422, (bad, r.text)
        assert [d["field"] for d in r.json()["error"]["details"]] == ["tier"], bad
        r = await api.http.patch(f"/api/v1/contacts/{cid}", json={"tier": bad})
        assert r.status_code == 422, (bad, r.text)
    assert (await api.http.get(f"/api/v1/contacts/{cid}")).json()["tier"] == "normal"  # nothing changed
    r = await api.http.patch(f"/api/v1/contacts/{cid}", json={"tier": "vip"})
    assert (r.status_code, r.json()["tier"]) == (200, "vip")
    events = (await api.http.get("/api/v1/events", params={"type": "contact.updated"})).json()
    assert [e["payload"]["tier"] for e in events if e["payload"]["id"] == cid] == ["vip"]


def test_openapi_lists_the_tiers() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///./var/never-opened.db"))
    assert app.openapi()["components"]["schemas"]["ContactTier"]["enum"] == TIERS


def test_migration_0011_normalises_unknown_tiers(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tiers.db'}"
    upgrade(url, "0007_security")

    async def run(*statements: str) -> list[tuple[object, ...]]:
        engine = make_engine(url)
        rows: list[tuple[object, ...]] = []
        async with engine.begin() as conn:
            for sql in statements:
                result = await conn.execute(text(sql))
                if result.returns_rows:
                    rows = [tuple(r) for r in result]
        await engine.dispose()
        return rows

    now = "2026-12-07 00:00:00+00:00"
    asyncio.run(
        run(
            f"INSERT INTO accounts (id, name, locale, timezone, settings, created_at) "
            f"VALUES (1, 'a', 'zh_CN', 'Asia/Shanghai', '{{}}', '{now}')",
            *(
                f"INSERT INTO contacts (id, account_id, name, tier, attributes, updated_at, created_at) "
                f"VALUES ({i}, 1, 'c', '{tier}', '{{}}', '{now}', '{now}')"
                for i, tier in enumerate(["vip", "platinum", "churn_risk", "VIP", ""], start=1)
            ),
        )
    )
    upgrade(url, "0011_contact_tier")
    rows = asyncio.run(run("SELECT id, tier FROM contacts ORDER BY id"))
    assert rows == [(1, "vip"), (2, "normal"), (3, "churn_risk"), (4, "normal"), (5, "normal")]


def test_every_tier_has_its_own_label() -> None:
    """The side panel shows the tier translated; no tier falls through to another's label."""
    template = '{% import "_macros.html" as m %}{{ m.tier_label(tier) }}'
    seen = {}
    for tier in ContactTier:
        seen[tier] = render_string(template, "zh_CN", tier=str(tier))
    assert len(set(seen.values())) == len(TIERS), seen
    assert seen[ContactTier.VIP] == "VIP" and seen[ContactTier.NORMAL] == "普通"


def render_string(source: str, locale: str, **context: object) -> str:
    return environment(locale).from_string(source).render(**context).strip()
