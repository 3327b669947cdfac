"""A real browser opens the contract's page from the hardened compose stack and sees its texts, with no errors."""

import os
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

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


def chromium() -> str:
    """Return the browser to drive: $CHROMIUM, or the first Chromium or Chrome on PATH."""
    found = os.environ.get("CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    if not found:
        pytest.fail("no Chromium found: `apt-get install chromium`, or set CHROMIUM to a Chrome or Chromium binary")
    return found


def test_page_shows_its_texts(stack, contract, project):
    if contract.page is None:
        pytest.skip("layercake.toml names no [page]: the app serves no page for a browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.goto(stack.url(contract.page.path))
            for text in contract.page.texts:
                try:
                    expect(page.locator("body")).to_contain_text(text)
                except AssertionError:
                    pytest.fail(f"the page never showed {text!r}; browser console errors: {errors}")
            screenshot = project.root / "build" / "screenshots" / "page.png"
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=screenshot)
        finally:
            browser.close()
    assert not errors, f"the page logged errors (a Content-Security-Policy block shows up here): {errors}"
