"""Jinja2 environments, one per locale, each with its gettext catalog installed (jinja2.ext.i18n).

One environment per locale (rather than installing translations per request) keeps concurrent requests
in different languages from seeing each other's catalog. Autoescaping is always on."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from kefu import __version__
from kefu.attachments.urls import fresh_urls
from kefu.web.i18n import HTML_LANG, LOCALE_NAMES, LOCALES, translations

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def static_url(path: str) -> str:
    file = STATIC / path
    version = int(file.stat().st_mtime) if file.exists() else __version__
    return f"/static/{path}?v={version}"


@cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        static_url=static_url,
        locale=locale,
        html_lang=HTML_LANG[locale],
        locales=LOCALES,
        locale_names=LOCALE_NAMES,
        fresh_urls=fresh_urls,
    )
    return env


def render(name: str, locale: str, context: dict[str, Any]) -> str:
    return environment(locale).get_template(name).render(context)


def translate(locale: str, message: str, **variables: Any) -> str:
    text = translations(locale).gettext(message)
    return text % variables if variables else text
