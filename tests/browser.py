"""Real headless Chromium (Debian's) through Playwright, with every non-file request aborted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def open_offline(browser: Browser, url: str, width: int = 1400, height: int = 900,
                 scale: float = 1) -> Watched:
    """Open `url` with the network cut off; collect console errors, dialogs, blocked requests.
    `scale` is the device pixel ratio (a high-density screen)."""
    page = browser.new_page(viewport={"width": width, "height": height},
                            device_scale_factor=scale)
    w = Watched(page)
    page.on("console", lambda m: w.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: w.errors.append(str(e)))

    def dialog(d):
        w.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)

    def route(r):
        if r.request.url.startswith(("file:", "data:", "about:")):
            r.continue_()
        else:
            w.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url)
    page.wait_for_selector("body[data-cm-ready='1']", timeout=15000)
    return w
