"""Headless Chromium for tests and screenshots: Debian's chromium driven by Playwright.

Playwright never downloads a browser here: it is pointed at the system Chromium, started with
the flags that keep it from reaching for the network.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 1400, full_page: bool = False) -> None:
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.goto(html.resolve().as_uri())
        page.screenshot(path=str(png), full_page=full_page)
