"""A real browser opens the page from the hardened compose stack: static page and API, one container."""

import os
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright
from support import ROOT

pytestmark = pytest.mark.docker

# Headless Chromium that never phones home: this machine, and many CI runners, have no way out.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOT = ROOT / "build" / "screenshots" / "index.png"


def chromium() -> str:
    """Return the browser to drive: $CHROMIUM, or the first Chromium or Chrome on PATH."""
    found = os.environ.get("CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    if not found:
        pytest.fail("no Chromium found: `apt-get install chromium`, or set CHROMIUM to a Chrome or Chromium binary")
    return found


def test_page_shows_the_answer_from_hello(stack):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.goto(stack.url("/"))
            expect(page.get_by_role("heading", name="Hello from Mary")).to_be_visible()
            try:
                expect(page.locator("#answer")).to_have_text("nice to meet you")
            except AssertionError:
                pytest.fail(f"the page never showed /hello's answer; browser console errors: {errors}")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOT)
        finally:
            browser.close()
    assert not errors, f"the page logged errors (a Content-Security-Policy block shows up here): {errors}"
