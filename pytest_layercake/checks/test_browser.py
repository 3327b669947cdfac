"""A real browser opens the contract's page from the hardened compose stack and sees its texts, with no errors."""

import http.server
import os
import shutil
import threading
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

# Headless Chromium that never phones home: this machine, and many CI runners, have no way out.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Chromium drops what is in flight when the host's network interfaces change (Docker adds one for each container another
# test starts): the host's doing, not the page's, so the page is visited again, up to this many times in all.
NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"
NETWORK_CHANGED_VISITS = 3
# The browser asks for this by itself when a page names no icon; its 404 is not the page's failure.
FAVICON_PROBE = "/favicon.ico"


def chromium() -> str:
    """Return the browser to drive: $CHROMIUM, or the first Chromium or Chrome on PATH."""
    found = os.environ.get("CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    if not found:
        pytest.fail("no Chromium found: `apt-get install chromium`, or set CHROMIUM to a Chrome or Chromium binary")
    return found


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


class Visit:
    """A page opened in the browser, with every failure of its own (a resource, a fetch, a CSP block), by URL."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page()
        self.requested: set[str] = set()
        self.failures: list[str] = []
        self.page.on("request", lambda request: self.requested.add(request.url))
        self.page.on("response", self.on_response)
        self.page.on("requestfailed", lambda r: self.failures.append(f"{r.resource_type} {r.url}: {r.failure}"))
        self.page.on("console", self.on_console)
        self.page.goto(url)

    def on_response(self, response) -> None:
        if response.status >= 400:
            self.failures.append(f"{response.request.resource_type} {response.url} answered {response.status}")

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        url = message.location.get("url") or ""
        if message.text.startswith("Failed to load resource") and url in self.requested:
            return  # the response or requestfailed event named it already
        if urlsplit(url).path == FAVICON_PROBE and url not in self.requested:
            return  # the browser's own icon probe, not a resource of the page
        self.failures.append(f"{message.text} (at {url or 'the page'})")

    def settle(self) -> list[str]:
        """Wait until the network is idle, close the page and return the failures."""
        self.page.wait_for_load_state("networkidle")
        self.page.close()
        return self.failures


def shown(page, text: str) -> bool:
    try:
        expect(page.locator("body")).to_contain_text(text)
    except AssertionError:
        return False
    return True


@pytest.mark.docker
def test_page_shows_its_texts(stack, contract, project, browser):
    if contract.page is None:
        pytest.skip("layercake.toml names no [page]: the app serves no page for a browser")
    for _ in range(NETWORK_CHANGED_VISITS):
        visit = Visit(browser, stack.url(contract.page.path))
        missing = next((text for text in contract.page.texts if not shown(visit.page, text)), None)
        if missing is None:
            screenshot = project.root / "build" / "screenshots" / "page.png"
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            visit.page.screenshot(path=screenshot)
        failures = visit.settle()
        if not failures or not all(NETWORK_CHANGED in failure for failure in failures):
            break
    assert missing is None, f"the page never showed {missing!r}; what failed on it: {failures}"
    assert not failures, (
        f"the page's own resources failed (a Content-Security-Policy block shows up here too): {failures}"
    )


# Pages for the controls, served from 127.0.0.1 by a plain file server: no icon link, so the browser probes for one.
CONTROL_PAGES = {
    "/fine.html": "<!doctype html><title>fine</title><p>fine</p>",
    "/broken.html": '<!doctype html><title>broken</title><script src="/missing.js"></script><p>broken</p>',
}


class ControlPages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = CONTROL_PAGES.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write((body or "not found").encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def control_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ControlPages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_browser_icon_probe_is_not_a_page_failure(browser, control_server):
    failures = Visit(browser, f"{control_server}/fine.html").settle()
    assert not failures, f"a page without an icon link was blamed for the browser's {FAVICON_PROBE}: {failures}"


def test_missing_script_is_a_page_failure_named_by_its_url(browser, control_server):
    """The negative control: a script of the page that 404s must fail the check, with its URL."""
    failures = Visit(browser, f"{control_server}/broken.html").settle()
    assert any(f"{control_server}/missing.js" in failure for failure in failures), (
        f"a page whose script 404s was not caught, or its URL not named: {failures}"
    )
    assert not any(FAVICON_PROBE in failure for failure in failures), f"the icon probe was counted: {failures}"
