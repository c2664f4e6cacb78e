"""A crawler for the real browser: visit every same-origin page a user can reach and report what is broken.

    crawler = Crawler(ctx, base_url, "zh_CN", catalog=Catalog.load())
    report = await crawler.crawl(["/app?lang=zh_CN", "/admin?lang=zh_CN"])
    assert report.problems == []

From the start pages it follows every same-origin `<a href>`, reads every `method=get` form (once per
option of each of its selects: the list filters), fetches the `hx-get` fragments a page loads later (on a
socket event, on typing) and clicks one `hx-get` link of each kind, so HTMX swaps run too. It never submits a
POST form and never follows links that log out, change the language or leave the site. URLs are deduplicated
by *pattern* — numbers and opaque keys in paths and query values become placeholders, so /app/c/12 and
/app/c/13 are one page — which keeps a crawl to tens of pages per user.

Problems it reports, each as one line naming the page:
- any response ≥ 500 (pages, fragments, assets, API calls the page makes);
- a link or form of a page that leads to an error page (≥ 400; a start page may answer 403: a role that may not
  open a section gets the 403 page, which is the product's answer);
- any same-origin request for an asset (css/js/images/fonts, the page's icon or /favicon.ico — fetched by the
  crawler, as a headless browser does not) that fails or answers ≥ 400;
- any console error or uncaught exception in the page (a 4xx page itself, e.g. the 403 page of a section the
  user may not open, is not a problem: it is the answer the product gives);
- untranslated text: on zh_CN / zh_TW pages a visible text (or placeholder / title / aria-label) equal to an
  English msgid whose translation differs; on en pages one equal to a Chinese msgid whose en translation differs.

New pages are crawled for free as soon as something links to them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parents[2] / "src" / "kefu" / "locales"
ASSET_TYPES = {"stylesheet", "script", "image", "font", "media", "manifest"}
# Query values that are free text or positions, not a different page.
FREE_PARAMS = {"q", "cursor", "next", "question", "variants", "answer"}
SKIP_PATHS = ("/logout", "/api/", "/ws/", "/static/", "/docs", "/redoc", "/openapi.json")
_OPAQUE = re.compile(r"^(\d+|[0-9a-f]{8,}|[A-Za-z0-9_-]{16,})$")
_HAN = re.compile(r"[\u3400-\u9fff]")

# Every visible text node, and the attributes people read, of a document (and its same-origin iframes).
_TEXTS_JS = """() => {
  const out = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const walk = (doc) => {
    const tw = doc.createTreeWalker(doc.body || doc, NodeFilter.SHOW_TEXT);
    for (let n = tw.nextNode(); n; n = tw.nextNode()) {
      const p = n.parentElement;
      if (!p || ["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"].includes(p.tagName) || !visible(p)) continue;
      // text marked as another language (the language switcher's own names) is meant to stay as it is
      const marked = p.closest("[lang]");
      if (marked && marked.lang !== (doc.documentElement.lang || marked.lang)) continue;
      const t = n.textContent.trim();
      if (t) out.push(t);
    }
    for (const el of doc.querySelectorAll("[placeholder],[title],[aria-label],input[type=submit][value]")) {
      const marked = el.closest("[lang]");  // e.g. the English default shown in an English field
      if (marked && marked.lang !== (doc.documentElement.lang || marked.lang)) continue;
      for (const a of ["placeholder", "title", "aria-label", "value"]) {
        if (a === "value" && el.type !== "submit") continue;
        const v = (el.getAttribute(a) || "").trim();
        if (v) out.push(v);
      }
    }
  };
  walk(document);
  return out;
}"""

_LINKS_JS = """() => {
  const hrefs = Array.from(document.querySelectorAll("a[href]"), (a) => a.href);
  const forms = [];
  for (const f of document.querySelectorAll("form")) {
    // Only forms that read: method=get with an action (scripted forms and hx-post/put/delete ones write).
    if ((f.getAttribute("method") || "").toLowerCase() !== "get" || !f.hasAttribute("action")) continue;
    if (["hx-post", "hx-put", "hx-patch", "hx-delete"].some((a) => f.hasAttribute(a))) continue;
    const base = new URL(f.getAttribute("action") || location.href, location.href);
    const fields = [];
    for (const el of f.elements) {
      if (!el.name || el.disabled || ["submit", "button", "file", "reset"].includes(el.type)) continue;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
      if (el.tagName === "SELECT") fields.push([el.name, el.value, Array.from(el.options, (o) => o.value)]);
      else fields.push([el.name, el.value, null]);
    }
    forms.push({ action: base.origin + base.pathname, fields });
  }
  const fragments = [];
  for (const el of document.querySelectorAll("[hx-get]")) {
    const trigger = el.getAttribute("hx-trigger") || "";
    const clickable = (!trigger || trigger === "click") && ["A", "BUTTON"].includes(el.tagName);
    fragments.push({ url: new URL(el.getAttribute("hx-get"), location.href).href, clickable,
                     name: el.getAttribute("name") || "" });
  }
  return { hrefs, forms, fragments };
}"""


@dataclass
class Catalog:
    """Texts that must not be seen untranslated, per UI locale, from the .po files."""

    forbidden: dict[str, set[str]]

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Catalog:
        catalogs = {}
        for locale in ("zh_CN", "zh_TW", "en"):
            with (directory / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
                catalogs[locale] = read_po(fh, locale=locale)
        forbidden: dict[str, set[str]] = {}
        for locale, catalog in catalogs.items():
            chinese_ui = locale.startswith("zh")
            texts = set()
            for message in catalog:
                msgid, msgstr = message.id, message.string
                if not msgid or not isinstance(msgid, str) or not isinstance(msgstr, str) or "%(" in msgid:
                    continue
                if msgstr.strip() == msgid.strip():
                    continue
                if bool(_HAN.search(msgid)) != chinese_ui:
                    texts.add(msgid.strip())
            forbidden[locale] = texts
        return cls(forbidden)

    def untranslated(self, locale: str, texts: Iterable[str]) -> list[str]:
        bad = self.forbidden.get(locale, set())
        return sorted({t for t in texts if t in bad})


def pattern_of(url: str) -> str:
    """/app/c/12?view=mine&lang=en → /app/c/{id}?view=mine: one representative per kind of page."""
    parts = urlsplit(url)
    path = "/".join("{id}" if _OPAQUE.match(seg) else seg for seg in parts.path.split("/"))
    query = []
    for key, value in sorted(parse_qsl(parts.query, keep_blank_values=True)):
        if key == "lang":
            continue
        if key in FREE_PARAMS or _OPAQUE.match(value):
            value = "{}" if value else ""
        query.append(f"{key}={value}")
    return path + ("?" + "&".join(query) if query else "")


@dataclass
class Report:
    locale: str
    visited: list[str] = field(default_factory=list)  # patterns, in visiting order
    fragments: list[str] = field(default_factory=list)
    clicked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self, who: str) -> str:
        return (
            f"{who} [{self.locale}]: {len(self.visited)} pages, {len(self.fragments)} fragments, "
            f"{len(self.clicked)} hx clicks, {len(self.problems)} problems, {self.seconds:.1f} s"
        )


class Crawler:
    def __init__(
        self,
        ctx: Any,
        base_url: str,
        locale: str,
        *,
        catalog: Catalog,
        max_pages: int = 150,
        skip: Callable[[str], bool] | None = None,
        after_load: Callable[[Any, str], Any] | None = None,
    ) -> None:
        self.ctx, self.base, self.locale, self.catalog = ctx, base_url.rstrip("/"), locale, catalog
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base))
        self.max_pages = max_pages
        self.skip = skip or (lambda url: False)
        self.after_load = after_load
        self.report = Report(locale)
        self._seen: set[str] = set()
        self._queue: list[tuple[str, str | None]] = []  # (url, the page that linked it; None: a start page)
        self._page_url = ""

    # -- what counts as a problem ---------------------------------------------------------------------

    def _problem(self, text: str) -> None:
        self.report.problems.append(f"[{self.locale}] {text}")

    def _same_origin(self, url: str) -> bool:
        return url.startswith(self.origin + "/") or url == self.origin

    def _watch(self, page: Any) -> None:
        def on_console(msg: Any) -> None:
            if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
                self._problem(f"console error on {self._page_url}: {msg.text}")

        def on_response(response: Any) -> None:
            url, status = response.url, response.status
            if not self._same_origin(url):
                return
            if status >= 500:
                self._problem(f"{status} for {url} (on {self._page_url})")
            elif status >= 400 and (response.request.resource_type in ASSET_TYPES or _is_asset(url)):
                self._problem(f"asset {url} answered {status} (on {self._page_url})")

        def on_failed(request: Any) -> None:
            if request.failure == "net::ERR_ABORTED":
                return  # the crawler navigated on before it finished: a missing asset is a 4xx response above
            if self._same_origin(request.url) and (request.resource_type in ASSET_TYPES or _is_asset(request.url)):
                self._problem(f"asset {request.url} failed: {request.failure} (on {self._page_url})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self._problem(f"uncaught error on {self._page_url}: {exc}"))
        page.on("response", on_response)
        page.on("requestfailed", on_failed)

    def check_texts(self, where: str, texts: Iterable[str]) -> None:
        for text in self.catalog.untranslated(self.locale, texts):
            self._problem(f"untranslated {text!r} on {where}")

    # -- the walk -------------------------------------------------------------------------------------

    def _enqueue(self, url: str, key: str | None = None) -> None:
        url = urljoin(self.base + "/", url).split("#", 1)[0]
        if not self._same_origin(url):
            return
        parts = urlsplit(url)
        if parts.path.startswith(SKIP_PATHS) or "lang" in dict(parse_qsl(parts.query)) or self.skip(url):
            return
        pattern = pattern_of(url)
        if (key or pattern) not in self._seen and pattern not in self._seen:
            self._seen.update({key or pattern, pattern})
            self._queue.append((url, self._page_url))

    async def crawl(self, starts: Iterable[str]) -> Report:
        started = time.monotonic()
        page = await self.ctx.new_page()
        self._watch(page)
        for start in starts:  # start pages carry ?lang=; they are visited whatever their pattern
            url = urljoin(self.base + "/", start)
            self._seen.add(pattern_of(url))
            self._queue.append((url, None))
        while self._queue and len(self.report.visited) < self.max_pages:
            await self._visit(page, *self._queue.pop(0))
        await page.close()
        self.report.seconds = time.monotonic() - started
        return self.report

    async def _visit(self, page: Any, url: str, linked_from: str | None) -> None:
        self._page_url = url
        response = await page.goto(url, wait_until="load")
        self.report.visited.append(pattern_of(url))
        if response is None:
            return
        if response.status >= 500:
            return  # already reported by the response listener
        if response.status >= 400 and linked_from is not None:  # a start page may be refused (403 for an agent)
            self._problem(f"{url} answered {response.status} (linked from {linked_from})")
        await _settle(page)
        if self.after_load is not None:
            await self.after_load(page, url)
        self.check_texts(url, await page.evaluate(_TEXTS_JS))
        await self._icons(page)
        found = await page.evaluate(_LINKS_JS)
        for href in found["hrefs"]:
            self._enqueue(href)
        for form in found["forms"]:
            # One page per form and per option of each select, whatever the other fields hold: a filtered
            # list's own filter form must not multiply into every combination of filters.
            action = pattern_of(form["action"])
            for changed, query in _form_queries(form["fields"]):
                url = form["action"] + ("?" + urlencode(query) if query else "")
                self._enqueue(url, f"form {action} {changed}")
        await self._fragments(page, found["fragments"])

    async def _icons(self, page: Any) -> None:
        """The page's icons (or /favicon.ico, which browsers ask for when a page links none): a headless
        browser does not fetch them, so the crawler does, once each."""
        hrefs = await page.evaluate(
            "() => { const l = Array.from(document.querySelectorAll('link[rel~=icon]'), (e) => e.href);"
            " return l.length ? l : [new URL('/favicon.ico', location.href).href]; }"
        )
        for href in hrefs:
            key = "icon " + href
            if not self._same_origin(href) or key in self._seen:
                continue
            self._seen.add(key)
            response = await page.request.get(href)
            if response.status >= 400:
                self._problem(f"asset {href} answered {response.status} (on {self._page_url})")

    async def _fragments(self, page: Any, fragments: list[dict[str, Any]]) -> None:
        for fragment in fragments:
            url = fragment["url"]
            if fragment["name"]:  # a search box: ask with a word
                url += ("&" if "?" in url else "?") + urlencode({fragment["name"]: "退货"})
            key = "hx " + pattern_of(url)
            if not self._same_origin(url) or key in self._seen:
                continue
            self._seen.add(key)
            if fragment["clickable"]:
                await self._click(page, fragment["url"])
                continue
            response = await page.request.get(url, headers={"HX-Request": "true"})
            self.report.fragments.append(pattern_of(url))
            if response.status >= 500:
                self._problem(f"{response.status} for fragment {url} (on {self._page_url})")
                continue
            if "html" in response.headers.get("content-type", ""):
                texts = await page.evaluate(
                    "(html) => { const d = new DOMParser().parseFromString(html, 'text/html');"
                    " return Array.from(d.body.querySelectorAll('*'), (e) => Array.from(e.childNodes)"
                    ".filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).filter(Boolean)).flat(); }",
                    await response.text(),
                )
                self.check_texts(f"fragment {url}", texts)

    async def _click(self, page: Any, hx_url: str) -> None:
        path = urlsplit(hx_url).path + (f"?{urlsplit(hx_url).query}" if urlsplit(hx_url).query else "")
        target = page.locator(f'[hx-get="{path}"]').first
        if not await target.is_visible():
            return
        async with page.expect_response(lambda r: r.url.split("?")[0] == hx_url.split("?")[0], timeout=10_000):
            await target.click()
        await _settle(page)
        self.report.clicked.append(pattern_of(hx_url))
        self.check_texts(f"{self._page_url} after clicking {path}", await page.evaluate(_TEXTS_JS))


def _is_asset(url: str) -> bool:
    path = urlsplit(url).path
    return path.startswith("/static/") or path in ("/favicon.ico", "/widget.js")


def _form_queries(fields: list[list[Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form as submitted, plus once per other option of each select (other fields as they are), each with
    what it changed ("" for the form as it is, "name=option" for a select's option)."""
    base = [(name, value) for name, value, _ in fields]
    queries: list[tuple[str, list[tuple[str, str]]]] = [("", base)]
    for i, (name, value, options) in enumerate(fields):
        for option in (options or [])[:8]:
            if option != value:
                queries.append((f"{name}={option}", [*base[:i], (name, option), *base[i + 1 :]]))
    return queries


async def _settle(page: Any) -> None:
    """Let the page finish what it starts on load: HTMX requests, and a socket it opens (closing a socket that
    is still connecting logs a console error that would be the crawler's own doing)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        busy = await page.evaluate(
            "() => !!document.querySelector('.htmx-request') || (!!document.querySelector("
            "'script[src*=\"workspace.js\"], script[src*=\"widget-frame.js\"]') && document.body.dataset.ws !== 'open')"
        )
        if not busy:
            return
        await asyncio.sleep(0.05)
