"""Locale negotiation (exact strings in each language) and catalog completeness."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from kefu.core.constants import Role
from kefu.web.i18n import LOCALE_DIR, LOCALES, from_accept_language, negotiate, po_path
from tests.support.factories import PASSWORD, UserHandle, World
from tests.web.conftest import login

LOGIN_H1 = {"zh_CN": "<h1>登录 kefu 客服</h1>", "zh_TW": "<h1>登入 kefu 客服</h1>", "en": "<h1>Log in to kefu</h1>"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-TW,zh;q=0.9", "zh_TW"),
        ("zh-HK", "zh_TW"),
        ("zh-Hant-CN", "zh_TW"),
        ("zh-CN,en;q=0.5", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-SG", "zh_CN"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,en;q=0.8,zh;q=0.7", "en"),
        ("fr-FR;q=1,zh-TW;q=0.2,en;q=0.5", "en"),
        ("de", None),
        ("", None),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_negotiation_order() -> None:
    assert negotiate(query="en", cookie="zh_TW", user_locale="zh_CN", accept_language="zh-CN") == "en"
    assert negotiate(query="xx", cookie="zh_TW", user_locale="en", accept_language="en") == "zh_TW"
    assert negotiate(query=None, cookie=None, user_locale="en", accept_language="zh-TW") == "en"
    assert negotiate(query=None, cookie=None, user_locale=None, accept_language="zh-TW") == "zh_TW"
    assert negotiate(query=None, cookie=None, user_locale=None, accept_language="de") == "zh_CN"


@pytest.mark.parametrize(
    ("headers", "cookies", "query", "expected"),
    [
        ({}, {}, "", "zh_CN"),
        ({"Accept-Language": "en-GB,en;q=0.9"}, {}, "", "en"),
        ({"Accept-Language": "zh-TW"}, {}, "", "zh_TW"),
        ({"Accept-Language": "en"}, {"kefu_locale": "zh_TW"}, "", "zh_TW"),
        ({"Accept-Language": "en"}, {"kefu_locale": "zh_TW"}, "?lang=zh_CN", "zh_CN"),
        ({}, {}, "?lang=en", "en"),
    ],
)
async def test_login_page_language(
    api: World, headers: dict[str, str], cookies: dict[str, str], query: str, expected: str
) -> None:
    r = await api.client(cookies=cookies).get(f"/login{query}", headers=headers)
    assert r.status_code == 200
    assert LOGIN_H1[expected] in r.text
    assert f'<html lang="{expected.replace("_", "-")}">' in r.text
    if query:
        assert f"kefu_locale={expected}" in r.headers["set-cookie"]


async def test_lang_switch_is_remembered_and_beats_user_locale(api: World) -> None:
    r = await api.http.post(
        "/api/v1/users",
        json={"email": "tw@test.kefu", "name": "陳", "password": PASSWORD, "role": Role.AGENT, "locale": "zh_TW"},
    )
    assert r.status_code == 201
    users = {u["email"]: u for u in (await api.http.get("/api/v1/users")).json()}
    handle = UserHandle(users["tw@test.kefu"]["id"], "tw@test.kefu", "agent", "", api.http)
    http = (await login(api, handle)).http
    page = await http.get("/app", headers={"Accept-Language": "en"})
    assert "<span>No conversations here.</span>" not in page.text
    assert ">工作台</a>" in page.text and "這裡暫無對話。" in page.text  # the user's locale beats Accept-Language
    switched = await http.get("/app?lang=en")
    assert "No conversations here." in switched.text
    again = await http.get("/app")
    assert "No conversations here." in again.text  # remembered in the kefu_locale cookie
    assert 'href="/app?lang=zh_CN"' in again.text and 'href="/app?lang=zh_TW"' in again.text


def _catalog(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as fp:
        return read_po(fp)


def test_every_msgid_is_translated_in_every_catalog() -> None:
    pot = _catalog(LOCALE_DIR / "messages.pot")
    ids = [m.id for m in pot if m.id]
    assert len(ids) > 100
    for locale in LOCALES:
        catalog = _catalog(po_path(locale))
        missing = [i for i in ids if not (catalog.get(i) and catalog.get(i).string)]
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        assert (locale, missing, fuzzy) == (locale, [], [])
        if locale != "en":
            same = [i for i in ids if catalog.get(i).string == i and any(c.isalpha() for c in i)]
            assert set(same) <= {"VIP", "API"}, (locale, same)


def test_pot_matches_the_source(tmp_path: Path) -> None:
    """The committed .pot is what pybabel extracts now (no untranslatable drift)."""
    out = tmp_path / "messages.pot"
    root = Path(__file__).resolve().parents[2]
    argv = [
        "pybabel",
        "-q",
        "extract",
        "-F",
        str(root / "src/kefu/locales/babel.cfg"),
        "-k",
        "t:2",
        "-k",
        "translate:2",
    ]
    argv += ["-o", str(out), "--no-location", "--sort-output", str(root / "src/kefu")]
    CommandLineInterface().run(argv)
    assert {m.id for m in _catalog(out) if m.id} == {m.id for m in _catalog(LOCALE_DIR / "messages.pot") if m.id}
