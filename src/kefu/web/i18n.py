"""Locales: the Babel catalogs loaded into memory at startup (no compile step), and locale negotiation.

Choice order: `?lang=` (also stored in the `kefu_locale` cookie) > cookie > the logged-in user's locale >
Accept-Language > zh_CN. See docs/ui.md.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("zh_CN", "zh_TW", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_COOKIE = "kefu_locale"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"
HTML_LANG = {"zh_CN": "zh-CN", "zh_TW": "zh-TW", "en": "en"}
LOCALE_NAMES = {"zh_CN": "简体中文", "zh_TW": "繁體中文", "en": "English"}
_TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@cache
def translations(locale: str) -> Translations:
    """The catalog of `locale`, compiled in memory from its .po file."""
    with po_path(locale).open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


def normalize(tag: str | None) -> str | None:
    """Map a language tag (zh-TW, zh_Hant_HK, zh, en-GB, …) to one of LOCALES, or None."""
    if not tag:
        return None
    t = tag.strip().replace("_", "-").lower()
    if t.startswith(_TRADITIONAL):
        return "zh_TW"
    if t == "zh" or t.startswith("zh-"):
        return "zh_CN"
    if t == "en" or t.startswith("en-"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    if not header:
        return None
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            weighted.append((-q, i, tag))
    for _, _, tag in sorted(weighted):
        found = normalize(tag)
        if found:
            return found
    return None


def negotiate(*, query: str | None, cookie: str | None, user_locale: str | None, accept_language: str | None) -> str:
    for candidate in (query, cookie, user_locale):
        if candidate in LOCALES:
            return candidate
    return from_accept_language(accept_language) or DEFAULT_LOCALE
