"""Playwright against Debian's Chromium (/usr/bin/chromium): one browser for the whole session,
a fresh context (cookies, localStorage) per user in each test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path("test-artifacts")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_installed() -> bool:
    return CHROMIUM.exists()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not _chromium_installed():
        if os.environ.get("KEFU_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"KEFU_TEST_REQUIRE_SERVICES=1 but {CHROMIUM} is missing", pytrace=False)
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=10_000)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


NewContext = Callable[..., Awaitable[Any]]


@pytest.fixture
async def new_context(browser: Any) -> AsyncIterator[NewContext]:
    """new_context(locale="zh-CN") → a fresh browser context (its own cookies and storage)."""
    made: list[Any] = []

    async def make(locale: str = "zh-CN", **kw: Any) -> Any:
        kw.setdefault("viewport", {"width": 1280, "height": 800})
        ctx = await browser.new_context(locale=locale, **kw)
        ctx.set_default_timeout(10_000)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        await ctx.close()


async def screenshot(page: Any, name: str) -> Path:
    path = _artifact(name)
    await page.screenshot(path=str(path))
    return path
